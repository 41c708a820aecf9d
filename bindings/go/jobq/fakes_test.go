package jobq

// Fakes shared by the tests: a virtual clock, and a fake cluster that plays
// the probe (quota per namespace, used = what it runs) and the deployer
// (launches, optional quota rejections and failures, completions after a
// duration). Nothing talks to Kubernetes; hours pass in microseconds.

import (
	"errors"
	"sync"
	"testing"
)

type fakeClock struct {
	mu sync.Mutex
	ms int64
}

func (c *fakeClock) NowMs() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ms
}

func (c *fakeClock) advance(seconds int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ms += seconds * 1000
	return c.ms
}

type liveRun struct {
	req *DeployRequest
	at  int64
}

type fakeCluster struct {
	mu          sync.Mutex
	clock       *fakeClock
	quotas      map[string]Resources
	durationMs  int64 // 0: runs never finish by themselves
	live        map[RunID]liveRun
	deployed    []*DeployRequest
	rejectQuota map[RunID]int
	failDeploy  map[RunID]int
	cancelled   []RunID
}

func newCluster(clock *fakeClock, quotas map[string]map[string]string) *fakeCluster {
	c := &fakeCluster{clock: clock, quotas: map[string]Resources{},
		live: map[RunID]liveRun{}, rejectQuota: map[RunID]int{},
		failDeploy: map[RunID]int{}}
	for ns, q := range quotas {
		r, err := NoLimit.Parse(q)
		if err != nil {
			panic(err)
		}
		c.quotas[ns] = r
	}
	return c
}

func (c *fakeCluster) ReadQuota(ns string) (Resources, Resources, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var used Resources
	for _, run := range c.live {
		if run.req.Namespace == ns {
			used.CPU += run.req.Request.CPU
			used.Memory += run.req.Request.Memory
			used.Pods += run.req.Request.Pods
			used.Storage += run.req.Request.Storage
		}
	}
	return c.quotas[ns], used, nil
}

func (c *fakeCluster) Deploy(req *DeployRequest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rejectQuota[req.RunID] > 0 {
		c.rejectQuota[req.RunID]--
		return ErrQuotaRejected
	}
	if c.failDeploy[req.RunID] > 0 {
		c.failDeploy[req.RunID]--
		return errors.New("admission webhook said no")
	}
	c.live[req.RunID] = liveRun{req, c.clock.NowMs()}
	c.deployed = append(c.deployed, req)
	return nil
}

func (c *fakeCluster) Cancel(id RunID) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cancelled = append(c.cancelled, id)
	delete(c.live, id)
	return nil
}

func (c *fakeCluster) Poll(id RunID) (PollStatus, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	run := c.live[id]
	if c.durationMs > 0 && c.clock.NowMs()-run.at >= c.durationMs {
		delete(c.live, id)
		return PollFinished, "done", nil
	}
	return PollRunning, "", nil
}

func (c *fakeCluster) deployedIDs() []RunID {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]RunID, len(c.deployed))
	for i, r := range c.deployed {
		ids[i] = r.RunID
	}
	return ids
}

// noPoll exposes the cluster's Deploy only: the host reports completions.
type noPoll struct{ c *fakeCluster }

func (d noPoll) Deploy(req *DeployRequest) error { return d.c.Deploy(req) }

// eventLog collects events (safe for concurrent sinks).
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) ofType(kind string) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	for _, e := range l.events {
		if e.Type == kind {
			out = append(out, e)
		}
	}
	return out
}

// open opens a scheduler closed at the end of the test.
func open(t *testing.T, opts Options) *Scheduler {
	t.Helper()
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// withCluster is the usual wiring: clock, cluster as probe and deployer,
// events into log.
func withCluster(clock *fakeClock, c *fakeCluster, log *eventLog) Options {
	return Options{Probe: c, Deployer: c, Clock: clock, OnEvent: log.add}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustSubmit(t *testing.T, s *Scheduler, job string) RunID {
	t.Helper()
	id, err := s.Submit(job, nil)
	must(t, err)
	return id
}

func mustRun(t *testing.T, s *Scheduler, id RunID) RunInfo {
	t.Helper()
	info, err := s.Run(id)
	must(t, err)
	return info
}

func mustTick(t *testing.T, s *Scheduler) TickStats {
	t.Helper()
	st, err := s.Tick()
	must(t, err)
	return st
}

func res(t *testing.T, q map[string]string) Resources {
	t.Helper()
	r, err := ParseResources(q)
	must(t, err)
	return r
}
