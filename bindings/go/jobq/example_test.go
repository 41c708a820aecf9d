package jobq_test

// The README's example, compiled and checked by go test.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"libjobq.org/jobq"
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

// A database keeps the queues across restarts; OpenReadOnly inspects it,
// even while a writer runs.
func ExampleOpenReadOnly() {
	dir, _ := os.MkdirTemp("", "jobq-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "jobq.db")

	s, err := jobq.Open(jobq.Options{DBPath: path})
	if err != nil {
		panic(err)
	}
	s.DefineJob(jobq.JobDef{Name: "nightly-etl", Namespace: "analytics"})
	once := &jobq.SubmitOptions{RunName: "etl-2026-11-29", IdempotencyKey: "etl-2026-11-29"}
	first, _ := s.Submit("nightly-etl", once)
	again, _ := s.Submit("nightly-etl", once) // a retry finds the same run
	more, _ := s.SubmitBatch([]jobq.BatchRun{{Job: "nightly-etl"},
		{Job: "nightly-etl", SubmitOptions: jobq.SubmitOptions{RunName: "backfill"}}})
	fmt.Println(first == again, len(more))
	s.Close()

	ro, err := jobq.OpenReadOnly(path)
	if err != nil {
		panic(err)
	}
	defer ro.Close()
	queued, _ := ro.ListRuns(jobq.RunFilter{States: []jobq.RunState{jobq.RunQueued}})
	found, _ := ro.Search("backfill", 0)
	why, _ := ro.Explain(first)
	_, err = ro.Submit("nightly-etl", nil)
	fmt.Println(len(queued), found[0] == more[1], *why.Queue, errors.Is(err, jobq.ErrState))
	// Output:
	// true 2
	// 3 true {0 3 0} true
}
