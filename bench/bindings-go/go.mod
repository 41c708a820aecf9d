module libjobq.org/jobq/bench

go 1.19

require libjobq.org/jobq v0.1.0

replace libjobq.org/jobq => ../../bindings/go/jobq
