package jobq_test

// Client against a scheduler running in another process: the test binary
// re-executes itself as the scheduling host (TestClientHostProcess, which
// does nothing unless JOBQ_CLIENT_TEST_DB is set).

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"libjobq/bindings/go/jobq"
)

type liveCluster struct {
	mu   sync.Mutex
	live map[jobq.RunID]bool
}

func (c *liveCluster) ReadQuota(ns string) (hard, used jobq.Resources, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	hard = jobq.NoLimit
	hard.CPU = 2000
	used.CPU = int64(len(c.live)) * 1000
	return hard, used, nil
}

func (c *liveCluster) Deploy(req *jobq.DeployRequest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live[req.RunID] = true
	return nil
}

func (c *liveCluster) Cancel(id jobq.RunID) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.live, id)
	return nil
}

// The host process: open the database, define "etl", tick every 20 ms
// (unless JOBQ_CLIENT_TEST_IDLE) until stdin closes.
func TestClientHostProcess(t *testing.T) {
	db := os.Getenv("JOBQ_CLIENT_TEST_DB")
	if db == "" {
		t.Skip("only run as the helper process")
	}
	cluster := &liveCluster{live: map[jobq.RunID]bool{}}
	s, err := jobq.Open(jobq.Options{DBPath: db, Probe: cluster,
		Deployer: cluster, Durability: jobq.DurabilityNormal})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.DefineJob(jobq.JobDef{Name: "etl", Namespace: "analytics",
		Request: jobq.Resources{CPU: 1000}}); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("ready\n")
	done := make(chan struct{})
	go func() {
		bufio.NewReader(os.Stdin).ReadString('\n')
		close(done)
	}()
	for {
		select {
		case <-done:
			return
		case <-time.After(20 * time.Millisecond):
		}
		if os.Getenv("JOBQ_CLIENT_TEST_IDLE") == "" {
			if _, err := s.Tick(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func startHost(t *testing.T, db string, idle bool) func() {
	cmd := exec.Command(os.Args[0], "-test.run=^TestClientHostProcess$")
	cmd.Env = append(os.Environ(), "JOBQ_CLIENT_TEST_DB="+db)
	if idle {
		cmd.Env = append(cmd.Env, "JOBQ_CLIENT_TEST_IDLE=1")
	}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("host did not start: %q %v", line, err)
	}
	return func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("host: %v", err)
		}
	}
}

func TestClientAgainstARunningScheduler(t *testing.T) {
	db := filepath.Join(t.TempDir(), "jobq.db")
	stop := startHost(t, db, false)
	defer stop()
	c, err := jobq.OpenClient(db, jobq.ClientOptions{WaitTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	first, err := c.Submit("etl", &jobq.SubmitOptions{IdempotencyKey: "k1"})
	if err != nil || first == 0 {
		t.Fatalf("submit: %v %v", first, err)
	}
	again, err := c.Submit("etl", &jobq.SubmitOptions{IdempotencyKey: "k1"})
	if err != nil || again != first {
		t.Fatalf("repeated key: %v %v, want %v", again, err, first)
	}
	ids, err := c.SubmitBatch([]jobq.BatchRun{{Job: "etl"}, {Job: "etl"}, {Job: "etl"}})
	if err != nil || len(ids) != 3 {
		t.Fatalf("batch: %v %v", ids, err)
	}
	if info, _ := c.Run(ids[2]); info.State != jobq.RunQueued {
		t.Fatalf("run %d: %v, want queued", ids[2], info.State)
	}
	if err := c.Cancel(ids[2], "not needed"); err != nil {
		t.Fatal(err)
	}
	if err := c.Cancel(ids[2], ""); !errors.Is(err, jobq.ErrState) {
		t.Fatalf("cancel of an ended run: %v", err)
	}
	if _, err := c.Submit("nope", nil); !errors.Is(err, jobq.ErrNotFound) {
		t.Fatalf("unknown job: %v", err)
	}
	if err := c.SetProperty("job-orchestrator.queue.head-timeout-seconds", 600); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.GetProperty("job-orchestrator.queue.head-timeout-seconds"); string(v) != "600" {
		t.Fatalf("head timeout: %s", v)
	}
	moved, err := c.MigrateToLegacy()
	if err != nil || moved != 1 {
		t.Fatalf("migrate: %d %v, want 1 moved", moved, err)
	}
	reqs, err := c.Requests(0)
	if err != nil || len(reqs) != 8 {
		t.Fatalf("requests: %d %v", len(reqs), err)
	}
	if reqs[5].Err == nil || !errors.Is(reqs[5].Err, jobq.ErrNotFound) {
		t.Fatalf("the refused submit's outcome: %+v", reqs[5])
	}
}

func TestClientRequestsWaitForAScheduler(t *testing.T) {
	db := filepath.Join(t.TempDir(), "jobq.db")
	stop := startHost(t, db, true) // holds the file, never ticks
	c, err := jobq.OpenClient(db, jobq.ClientOptions{WaitTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Submit("etl", nil); !errors.Is(err, jobq.ErrTimedOut) {
		t.Fatalf("want ErrTimedOut, got %v", err)
	}
	id, err := c.LastRequest()
	if err != nil {
		t.Fatal(err)
	}
	stop()
	stop = startHost(t, db, false)
	defer stop()
	r, err := c.Wait(id, 30*time.Second)
	if err != nil || r.State != "applied" || r.Run == 0 {
		t.Fatalf("after a scheduler started: %+v %v", r, err)
	}
}
