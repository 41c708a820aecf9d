module libjobq/bindings/go

go 1.19
