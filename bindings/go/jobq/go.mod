module libjobq.org/jobq

go 1.19
