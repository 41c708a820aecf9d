package jobq

// The scheduling rules of SPEC section 2 driven from Go through fake
// hosts: what the binding must carry across faithfully.

import (
	"strings"
	"testing"
)

func TestHeadOfLineBlockingAndBlockedReason(t *testing.T) {
	clock, log := &fakeClock{}, &eventLog{}
	c := newCluster(clock, map[string]map[string]string{
		"analytics": {"cpu": "8", "memory": "32Gi"}})
	s := open(t, withCluster(clock, c, log))
	must(t, s.DefineJob(JobDef{Name: "big", Namespace: "analytics",
		Request: res(t, map[string]string{"cpu": "6", "memory": "8Gi"})}))
	must(t, s.DefineJob(JobDef{Name: "small", Namespace: "analytics",
		Request: res(t, map[string]string{"cpu": "1"})}))
	first, second := mustSubmit(t, s, "big"), mustSubmit(t, s, "big")
	behind := mustSubmit(t, s, "small")

	st := mustTick(t, s)

	if st.Deployed != 1 || st.Blocked != 1 || st.Queued != 2 {
		t.Fatalf("stats %+v", st)
	}
	if got := mustRun(t, s, first).State; got != RunRunning {
		t.Fatalf("first is %v", got)
	}
	head := mustRun(t, s, second)
	want := Blocked{Resource: "cpu", Requested: 6000, Available: 2000, Since: 0}
	if head.Position != 0 || head.Blocked == nil || *head.Blocked != want {
		t.Fatalf("head %+v blocked %+v", head, head.Blocked)
	}
	// 1 core would fit in the 2 left, but nothing overtakes a blocked head.
	if info := mustRun(t, s, behind); info.Position != 1 || info.Blocked != nil {
		t.Fatalf("behind %+v", info)
	}
	ev := log.ofType("blocked")
	if len(ev) != 1 || ev[0].Run != second || ev[0].Resource != "cpu" ||
		ev[0].Requested != 6000 || ev[0].Available != 2000 {
		t.Fatalf("blocked events %+v", ev)
	}
}

func TestWeightedRoundRobinShare(t *testing.T) {
	clock, log := &fakeClock{}, &eventLog{}
	c := newCluster(clock, map[string]map[string]string{"ns": {}})
	opts := withCluster(clock, c, log)
	opts.Config = `{"services": {"jobOrchestrator": {"settings": {"batchSize": 1}}},
		"systemProperties": {"job-orchestrator.queue.high.scheduling-share-percentage": 70}}`
	s := open(t, opts)
	must(t, s.DefineJob(JobDef{Name: "hi", Namespace: "ns", Priority: PriorityHigh}))
	must(t, s.DefineJob(JobDef{Name: "lo", Namespace: "ns"}))
	for i := 0; i < 200; i++ {
		mustSubmit(t, s, "hi")
		mustSubmit(t, s, "lo")
	}
	for i := 0; i < 200; i++ {
		mustTick(t, s)
		clock.advance(1)
	}
	if len(c.deployed) != 200 {
		t.Fatalf("%d deployed", len(c.deployed))
	}
	high := 0
	for i, req := range c.deployed {
		if req.Priority == PriorityHigh {
			high++
		}
		if (i+1)%10 == 0 && (high-(i+1)*7/10 > 1 || (i+1)*7/10-high > 1) {
			t.Fatalf("after %d deployments %d high", i+1, high)
		}
	}
	if high != 140 {
		t.Fatalf("high got %d of 200, want 140", high)
	}
}

func TestHeadTimeoutRetriesThenCancels(t *testing.T) {
	clock, log := &fakeClock{}, &eventLog{}
	c := newCluster(clock, map[string]map[string]string{"ns": {"cpu": "1"}})
	opts := withCluster(clock, c, log)
	opts.Config = `{"systemProperties": {
		"job-orchestrator.queue.head-timeout-seconds": 60,
		"job-orchestrator.queue.head-retry-count": 1}}`
	s := open(t, opts)
	must(t, s.DefineJob(JobDef{Name: "huge", Namespace: "ns",
		Request: res(t, map[string]string{"cpu": "4"})}))
	must(t, s.DefineJob(JobDef{Name: "tiny", Namespace: "ns",
		Request: res(t, map[string]string{"cpu": "1"})}))
	stuck, next := mustSubmit(t, s, "huge"), mustSubmit(t, s, "tiny")
	mustTick(t, s)
	if d, err := s.NextDeadline(); err != nil || d != 60000 {
		t.Fatalf("deadline %d %v", d, err)
	}
	clock.advance(60)
	if st := mustTick(t, s); st.TimeoutsRetried != 1 {
		t.Fatalf("stats %+v", st)
	}
	if ev := log.ofType("head_timeout_retry"); len(ev) != 1 || ev[0].Retry != 1 {
		t.Fatalf("retry events %+v", ev)
	}
	clock.advance(60)
	if st := mustTick(t, s); st.TimeoutsCancelled != 1 {
		t.Fatalf("stats %+v", st)
	}
	gone := mustRun(t, s, stuck)
	if gone.State != RunCancelled || gone.Reason != "head_timeout" ||
		!strings.Contains(gone.Detail, "cpu") || !gone.State.Terminal() {
		t.Fatalf("cancelled run %+v", gone)
	}
	if got := mustRun(t, s, next).State; got != RunRunning {
		t.Fatalf("next run is %v", got)
	}
}

func TestStaleQuotaPutsRunBackAtHead(t *testing.T) {
	clock, log := &fakeClock{}, &eventLog{}
	c := newCluster(clock, map[string]map[string]string{"ns": {"cpu": "8"}})
	s := open(t, withCluster(clock, c, log))
	must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns",
		Request: res(t, map[string]string{"cpu": "1"})}))
	rejected, behind := mustSubmit(t, s, "j"), mustSubmit(t, s, "j")
	c.rejectQuota[rejected] = 1

	st := mustTick(t, s)

	if st.Rescheduled != 1 || st.Deployed != 0 {
		t.Fatalf("stats %+v", st)
	}
	if info := mustRun(t, s, rejected); info.State != RunQueued || info.Position != 0 {
		t.Fatalf("rejected run %+v", info)
	}
	ev := log.ofType("rescheduled")
	if len(ev) != 1 || ev[0].Run != rejected || ev[0].Reason != "stale_quota" {
		t.Fatalf("rescheduled events %+v", ev)
	}
	clock.advance(1)
	mustTick(t, s)
	if ids := c.deployedIDs(); len(ids) != 2 || ids[0] != rejected || ids[1] != behind {
		t.Fatalf("deployed %v", ids)
	}
}

func TestPollFinishesRunsAndFreesQuota(t *testing.T) {
	clock, log := &fakeClock{}, &eventLog{}
	c := newCluster(clock, map[string]map[string]string{"ns": {"cpu": "2"}})
	c.durationMs = 60000
	s := open(t, withCluster(clock, c, log))
	must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns",
		Request: res(t, map[string]string{"cpu": "2"})}))
	first, second := mustSubmit(t, s, "j"), mustSubmit(t, s, "j")
	mustTick(t, s)
	clock.advance(60)
	if st := mustTick(t, s); st.Finished != 1 || st.Deployed != 1 {
		t.Fatalf("stats %+v", st)
	}
	if info := mustRun(t, s, first); info.State != RunFinished || info.Detail != "done" {
		t.Fatalf("first %+v", info)
	}
	ev := log.ofType("deployed")
	if info := mustRun(t, s, second); info.State != RunRunning || ev[len(ev)-1].WaitMs != 60000 {
		t.Fatalf("second %+v, wait %d", info, ev[len(ev)-1].WaitMs)
	}
}

func TestReportEndsRunsWithoutPoll(t *testing.T) {
	clock, log := &fakeClock{}, &eventLog{}
	c := newCluster(clock, map[string]map[string]string{"ns": {"cpu": "2"}})
	opts := withCluster(clock, c, log)
	opts.Deployer = noPoll{c}
	s := open(t, opts)
	must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns",
		Request: res(t, map[string]string{"cpu": "2"})}))
	first, second := mustSubmit(t, s, "j"), mustSubmit(t, s, "j")
	mustTick(t, s)
	c.Cancel(first) // gone from the fake cluster: its quota is free
	must(t, s.Report(first, RunFailed, "OOMKilled"))
	clock.advance(1)
	mustTick(t, s)
	if info := mustRun(t, s, first); info.State != RunFailed || info.Detail != "OOMKilled" {
		t.Fatalf("first %+v", info)
	}
	if got := mustRun(t, s, second).State; got != RunRunning {
		t.Fatalf("second is %v", got)
	}
}

func TestLegacyFlowAndMigrate(t *testing.T) {
	clock, log := &fakeClock{}, &eventLog{}
	c := newCluster(clock, map[string]map[string]string{"ns": {"cpu": "0"}})
	s := open(t, withCluster(clock, c, log))
	must(t, s.DefineJob(JobDef{Name: "old", Namespace: "ns", Flow: FlowLegacy,
		Request: res(t, map[string]string{"cpu": "4"}), Payload: []byte("manifest")}))
	must(t, s.DefineJob(JobDef{Name: "new", Namespace: "ns",
		Request: res(t, map[string]string{"cpu": "1"})}))
	legacy := mustSubmit(t, s, "old")
	if info := mustRun(t, s, legacy); info.State != RunRunning || info.Flow != FlowLegacy {
		t.Fatalf("legacy run %+v", info)
	}
	if string(c.deployed[0].Payload) != "manifest" {
		t.Fatalf("payload %q", c.deployed[0].Payload)
	}
	queued := []RunID{mustSubmit(t, s, "new"), mustSubmit(t, s, "new")}
	mustTick(t, s)
	moved, err := s.MigrateToLegacy()
	if err != nil || moved != 2 {
		t.Fatalf("moved %d, %v", moved, err)
	}
	for _, id := range queued {
		if info := mustRun(t, s, id); info.State != RunRunning || info.Flow != FlowLegacy {
			t.Fatalf("migrated run %+v", info)
		}
	}
	must(t, s.SetProperty("features.jobOrchestrator.enabled", false))
	if v, err := s.GetProperty("features.jobOrchestrator.enabled"); err != nil || string(v) != "false" {
		t.Fatalf("enabled = %s, %v", v, err)
	}
}

func TestSetJobFlowAndCancel(t *testing.T) {
	clock, log := &fakeClock{}, &eventLog{}
	c := newCluster(clock, map[string]map[string]string{"ns": {"cpu": "0"}})
	s := open(t, withCluster(clock, c, log))
	must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns",
		Request: res(t, map[string]string{"cpu": "1"})}))
	a, b := mustSubmit(t, s, "j"), mustSubmit(t, s, "j")
	must(t, s.Cancel(a, "superseded"))
	if info := mustRun(t, s, a); info.State != RunCancelled || info.Detail != "superseded" {
		t.Fatalf("cancelled %+v", info)
	}
	must(t, s.SetJobFlow("j", FlowLegacy))
	if got := mustRun(t, s, b).State; got != RunRunning {
		t.Fatalf("b is %v", got)
	}
	must(t, s.Cancel(b, ""))
	if len(c.cancelled) != 1 || c.cancelled[0] != b {
		t.Fatalf("deployer cancels %v", c.cancelled)
	}
}

func TestSubmitOverridesAndDeployRequest(t *testing.T) {
	clock, log := &fakeClock{ms: 7000}, &eventLog{}
	c := newCluster(clock, map[string]map[string]string{"ns": {}})
	s := open(t, withCluster(clock, c, log))
	must(t, s.DefineJob(JobDef{Name: "etl", Namespace: "ns", Domain: "finance"}))
	req := res(t, map[string]string{"cpu": "500m", "memory": "1Gi", "pods": "2"})
	id, err := s.Submit("etl", &SubmitOptions{RunName: "etl-nightly",
		Priority: PriorityHigh, Request: &req})
	must(t, err)
	mustTick(t, s)
	got := c.deployed[0]
	if got.RunID != id || got.RunName != "etl-nightly" || got.Domain != "finance" ||
		got.Priority != PriorityHigh || got.Request != req || got.Attempt != 1 {
		t.Fatalf("deploy request %+v", got)
	}
	ev := log.events
	if len(ev) != 2 || ev[0].Type != "submitted" || ev[1].Type != "deployed" ||
		ev[0].Time != 7000 || ev[0].Job != "etl" {
		t.Fatalf("events %+v", ev)
	}
}

func TestNoHostsIsADryRun(t *testing.T) {
	s := open(t, Options{})
	must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns",
		Request: res(t, map[string]string{"cpu": "1000"})}))
	id := mustSubmit(t, s, "j")
	info := mustRun(t, s, id)
	st, err := s.TickAt(info.SubmittedAt + 5)
	must(t, err)
	if st.Deployed != 1 || mustRun(t, s, id).State != RunRunning {
		t.Fatalf("stats %+v", st)
	}
	if d, err := s.NextDeadline(); err != nil || d != NoDeadline {
		t.Fatalf("deadline %d %v", d, err)
	}
}

func TestTickBatchSubmitsAndReportsWithTheCycle(t *testing.T) {
	clock, log := &fakeClock{}, &eventLog{}
	c := newCluster(clock, map[string]map[string]string{"ns": {}})
	s := open(t, withCluster(clock, c, log))
	must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns"}))
	first := mustSubmit(t, s, "j")
	mustTick(t, s)
	st, ids, err := s.TickBatch([]BatchRun{{Job: "j"}, {Job: "j", SubmitOptions: SubmitOptions{RunName: "x"}}},
		[]Ended{{ID: first, State: RunFailed, Detail: "OOMKilled"}})
	must(t, err)
	if len(ids) != 2 || ids[0] <= first || st.Deployed != 2 {
		t.Fatalf("ids %v stats %+v", ids, st)
	}
	if info := mustRun(t, s, first); info.State != RunFailed || info.Detail != "OOMKilled" {
		t.Fatalf("first %+v", info)
	}
	if info := mustRun(t, s, ids[1]); info.RunName != "x" || info.State != RunRunning {
		t.Fatalf("second new run %+v", info)
	}
	if failed := log.ofType("failed"); len(failed) != 1 || failed[0].Run != first {
		t.Fatalf("failed events %+v", failed)
	}
}

func TestTickBatchBadEntryChangesNothing(t *testing.T) {
	clock, log := &fakeClock{}, &eventLog{}
	c := newCluster(clock, map[string]map[string]string{"ns": {}})
	s := open(t, withCluster(clock, c, log))
	must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns"}))
	first := mustSubmit(t, s, "j")
	mustTick(t, s)
	_, ids, err := s.TickBatch([]BatchRun{{Job: "j"}, {Job: "nope"}}, nil)
	if err == nil || ids != nil || !strings.Contains(err.Error(), "submit: runs[1]") {
		t.Fatalf("ids %v err %v", ids, err)
	}
	_, ids, err = s.TickBatch([]BatchRun{{Job: "j"}},
		[]Ended{{ID: first, State: RunQueued}})
	if err == nil || ids != nil || !strings.Contains(err.Error(), "report: runs[0]") {
		t.Fatalf("ids %v err %v", ids, err)
	}
	if info := mustRun(t, s, first); info.State != RunRunning {
		t.Fatalf("first %+v", info)
	}
	must(t, s.ReportBatch([]Ended{{ID: first, State: RunFinished}}))
	if info := mustRun(t, s, first); info.State != RunFinished {
		t.Fatalf("first after ReportBatch %+v", info)
	}
	if err := s.ReportBatch([]Ended{{ID: first, State: RunFinished}}); err == nil {
		t.Fatalf("a run reported twice was accepted")
	}
}
