package jobq_test

// The README's example, compiled and checked by go test.

import (
	"fmt"

	"libjobq/bindings/go/jobq"
)

// cluster is a toy host: 8 cores in every namespace, deployments that
// always succeed.
type cluster struct{ usedCPU int64 }

func (c *cluster) ReadQuota(ns string) (hard, used jobq.Resources, err error) {
	hard, err = jobq.NoLimit.Parse(map[string]string{"cpu": "8"})
	return hard, jobq.Resources{CPU: c.usedCPU}, err
}

func (c *cluster) Deploy(req *jobq.DeployRequest) error {
	c.usedCPU += req.Request.CPU // a real host creates a SparkApplication here
	return nil
}

func Example() {
	host := &cluster{}
	s, err := jobq.Open(jobq.Options{Probe: host, Deployer: host,
		Config: `{"systemProperties": {"job-orchestrator.queue.head-timeout-seconds": 600}}`})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	request, _ := jobq.ParseResources(map[string]string{"cpu": "6", "memory": "24Gi"})
	if err := s.DefineJob(jobq.JobDef{Name: "nightly-etl", Namespace: "analytics",
		Priority: jobq.PriorityHigh, Request: request}); err != nil {
		panic(err)
	}
	first, _ := s.Submit("nightly-etl", nil)
	second, _ := s.Submit("nightly-etl", nil)

	s.Tick() // a host calls this every few seconds and when a run ends

	a, _ := s.Run(first)
	b, _ := s.Run(second)
	fmt.Println(a.State, b.State, b.Blocked.Resource, b.Blocked.Available)
	// Output: running queued cpu 2000
}
