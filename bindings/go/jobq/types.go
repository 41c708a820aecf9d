package jobq

// Plain data: resources and quantities, enums, and the structs C data is
// copied into (RunInfo, TickStats, Event, DeployRequest). Nothing here holds
// a pointer into C memory.

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"
)

// RunID is a run's durable id; 0 is never valid.
type RunID uint64

const (
	// Unlimited in a quota's hard limit means no limit on that dimension.
	Unlimited int64 = math.MaxInt64
	// NoDeadline is what NextDeadline returns when nothing is due.
	NoDeadline int64 = math.MaxInt64
	// timeNow asks the library to read its clock (JOBQ_TIME_NOW).
	timeNow int64 = math.MinInt64
)

// Resources are amounts in base units: CPU in millicores, memory and
// storage in bytes, pods as a count.
type Resources struct {
	CPU, Memory, Pods, Storage int64
}

// NoLimit is a quota with no limit on any dimension; start from it and
// Parse the dimensions a namespace does limit.
var NoLimit = Resources{Unlimited, Unlimited, Unlimited, Unlimited}

var resourceNames = [4]string{"cpu", "memory", "pods", "storage"}

func (r *Resources) slot(i int) *int64 {
	return [4]*int64{&r.CPU, &r.Memory, &r.Pods, &r.Storage}[i]
}

// Parse returns r with the dimensions named in q ("cpu", "memory", "pods",
// "storage") set from Kubernetes quantities ("500m", "8Gi").
func (r Resources) Parse(q map[string]string) (Resources, error) {
	for name, text := range q {
		i := indexOf(resourceNames[:], name)
		if i < 0 {
			return r, &Error{Code: int(C.JOBQ_EINVAL), Message: fmt.Sprintf(
				"unknown resource %q (one of cpu, memory, pods, storage)", name)}
		}
		amount, err := ParseQuantity(text, name)
		if err != nil {
			return r, err
		}
		*r.slot(i) = amount
	}
	return r, nil
}

// ParseResources reads Kubernetes quantities; missing dimensions are 0.
func ParseResources(q map[string]string) (Resources, error) {
	return Resources{}.Parse(q)
}

func (r Resources) toC(c *C.jobq_resources) {
	for i := 0; i < 4; i++ {
		c.amount[i] = C.int64_t(*r.slot(i))
	}
}

func resourcesFromC(c *C.jobq_resources) Resources {
	var r Resources
	for i := 0; i < 4; i++ {
		*r.slot(i) = int64(c.amount[i])
	}
	return r
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

// ParseQuantity parses a Kubernetes quantity into the base unit of
// resource ("cpu", "memory", "pods", "storage").
func ParseQuantity(text, resource string) (int64, error) {
	kind := indexOf(resourceNames[:], resource)
	if kind < 0 {
		return 0, &Error{Code: int(C.JOBQ_EINVAL),
			Message: fmt.Sprintf("unknown resource %q", resource)}
	}
	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))
	var out C.int64_t
	var msg [256]C.char
	rc := C.jobq_quantity_parse(&out, ctext, C.jobq_resource_kind(kind),
		&msg[0], C.size_t(len(msg)))
	if rc < 0 {
		return 0, newError(rc, resource+": "+C.GoString(&msg[0]))
	}
	return int64(out), nil
}

// FormatQuantity writes an amount in the shortest exact Kubernetes
// notation ("500m", "32Gi").
func FormatQuantity(amount int64, resource string) (string, error) {
	kind := indexOf(resourceNames[:], resource)
	if kind < 0 {
		return "", &Error{Code: int(C.JOBQ_EINVAL),
			Message: fmt.Sprintf("unknown resource %q", resource)}
	}
	var buf [64]C.char
	rc := C.jobq_quantity_format(&buf[0], C.size_t(len(buf)), C.int64_t(amount),
		C.jobq_resource_kind(kind))
	if rc < 0 {
		return "", newError(rc, "")
	}
	return C.GoString(&buf[0]), nil
}

// Priority of a job or run. The zero value means "the default": normal for
// a job definition, the job's own priority for a submission.
type Priority int

const (
	PriorityDefault Priority = iota
	PriorityNormal
	PriorityHigh
)

func (p Priority) String() string {
	if p < PriorityDefault || p > PriorityHigh {
		return fmt.Sprintf("Priority(%d)", int(p))
	}
	return [...]string{"default", "normal", "high"}[p]
}

// toC maps a set priority to the library's; what names the field in the
// error for a value that is none of the constants (never coerced: a
// Priority(7) is a bug in the caller, not a normal run).
func (p Priority) toC(what string) (C.jobq_priority, error) {
	switch p {
	case PriorityHigh:
		return C.JOBQ_PRIORITY_HIGH, nil
	case PriorityNormal, PriorityDefault:
		return C.JOBQ_PRIORITY_NORMAL, nil
	}
	return 0, invalidEnum(what, int(p), "PriorityDefault, PriorityNormal or PriorityHigh")
}

// invalidEnum is the ErrInvalid for an enum field holding no constant.
func invalidEnum(what string, value int, want string) error {
	return &Error{Code: int(C.JOBQ_EINVAL), Message: fmt.Sprintf(
		"%s: %d is not a valid value (%s)", what, value, want)}
}

func priorityFromC(p C.jobq_priority) Priority {
	if p == C.JOBQ_PRIORITY_HIGH {
		return PriorityHigh
	}
	return PriorityNormal
}

// Flow of a job: through the queues, or the legacy bypass.
type Flow int

const (
	FlowPriority Flow = C.JOBQ_FLOW_PRIORITY
	FlowLegacy   Flow = C.JOBQ_FLOW_LEGACY
)

func (f Flow) String() string {
	if !f.valid() {
		return fmt.Sprintf("Flow(%d)", int(f))
	}
	return [...]string{"priority", "legacy"}[f]
}

func (f Flow) valid() bool { return f == FlowPriority || f == FlowLegacy }

func (f Flow) check(what string) error {
	if f.valid() {
		return nil
	}
	return invalidEnum(what, int(f), "FlowPriority or FlowLegacy")
}

// RunState of a run.
type RunState int

const (
	RunQueued    RunState = C.JOBQ_RUN_QUEUED
	RunDeploying RunState = C.JOBQ_RUN_DEPLOYING
	RunRunning   RunState = C.JOBQ_RUN_RUNNING
	RunFinished  RunState = C.JOBQ_RUN_FINISHED
	RunFailed    RunState = C.JOBQ_RUN_FAILED
	RunCancelled RunState = C.JOBQ_RUN_CANCELLED
)

func (s RunState) String() string {
	if !s.valid() {
		return fmt.Sprintf("RunState(%d)", int(s))
	}
	return C.GoString(C.jobq_run_state_name(C.jobq_run_state(s)))
}

func (s RunState) valid() bool { return s >= RunQueued && s <= RunCancelled }

func (s RunState) check(what string) error {
	if s.valid() {
		return nil
	}
	return invalidEnum(what, int(s), "RunQueued ... RunCancelled")
}

// Terminal reports whether the run has ended.
func (s RunState) Terminal() bool {
	return s == RunFinished || s == RunFailed || s == RunCancelled
}

// Blocked says why a queue head does not fit: the first insufficient
// dimension, in the order cpu, memory, pods, storage.
type Blocked struct {
	Resource  string
	Requested int64
	Available int64
	Since     int64 // ms
}

// RunInfo is a snapshot of one run. Times are in ms; -1 means "not yet".
type RunInfo struct {
	ID             RunID
	State          RunState
	RunName        string
	Job            string
	Domain         string
	Namespace      string
	Priority       Priority
	Flow           Flow
	Request        Resources
	SubmittedAt    int64
	DeployedAt     int64
	EndedAt        int64
	Position       int64    // 0 = head of its queue; -1 unless queued
	Blocked        *Blocked // nil unless a queued head that does not fit
	HeadTimeoutAt  int64
	RetriesUsed    int
	RetriesLeft    int
	DeployAttempts int
	Reason         string // terminal runs: machine-readable
	Detail         string // terminal runs: for people
}

func runInfoFromC(c *C.jobq_run_info) RunInfo {
	info := RunInfo{
		ID: RunID(c.id), State: RunState(c.state),
		RunName: C.GoString(&c.run_name[0]), Job: C.GoString(&c.job[0]),
		Domain: C.GoString(&c.domain[0]), Namespace: C.GoString(&c.ns[0]),
		Priority: priorityFromC(c.priority), Flow: Flow(c.flow),
		Request:     resourcesFromC(&c.request),
		SubmittedAt: int64(c.submitted_at), DeployedAt: int64(c.deployed_at),
		EndedAt: int64(c.ended_at), Position: -1,
		HeadTimeoutAt: int64(c.head_timeout_at),
		RetriesUsed:   int(c.retries_used), RetriesLeft: int(c.retries_left),
		DeployAttempts: int(c.deploy_attempts),
		Reason:         C.GoString(&c.reason[0]), Detail: C.GoString(&c.detail[0]),
	}
	if info.State == RunQueued {
		info.Position = int64(c.queue_position)
	}
	if c.blocked {
		info.Blocked = &Blocked{
			Resource:  resourceNames[c.blocked_resource],
			Requested: int64(c.blocked_requested),
			Available: int64(c.blocked_available),
			Since:     int64(c.blocked_since),
		}
	}
	return info
}

// TickStats is what one scheduling cycle did.
type TickStats struct {
	Finished, Failed, Deployed, Blocked, Rescheduled int
	TimeoutsRetried, TimeoutsCancelled, ProbeErrors  int
	Queued, Running                                  uint64
}

func tickStatsFromC(c *C.jobq_tick_stats) TickStats {
	return TickStats{
		Finished: int(c.finished), Failed: int(c.failed),
		Deployed: int(c.deployed), Blocked: int(c.blocked),
		Rescheduled: int(c.rescheduled), TimeoutsRetried: int(c.timeouts_retried),
		TimeoutsCancelled: int(c.timeouts_cancelled),
		ProbeErrors:       int(c.probe_errors),
		Queued:            uint64(c.queued), Running: uint64(c.running),
	}
}

// Event is one thing that happened to one run, copied out of the callback.
type Event struct {
	Type      string // "submitted", "blocked", "deployed", ...
	Time      int64
	Run       RunID
	RunName   string
	Job       string
	Domain    string
	Namespace string
	Priority  Priority
	Flow      Flow
	Resource  string // blocked: the first insufficient dimension
	Requested int64  // blocked
	Available int64  // blocked
	WaitMs    int64  // deployed
	Retry     int    // head_timeout_retry, deploy_retry
	Reason    string
	Detail    string
}

func eventFromC(c *C.jobq_event) Event {
	ev := Event{
		Type: C.GoString(C.jobq_event_name(c._type)), Time: int64(c.time),
		Run: RunID(c.run), RunName: C.GoString(c.run_name),
		Job: C.GoString(c.job), Domain: C.GoString(c.domain),
		Namespace: C.GoString(c.ns), Priority: priorityFromC(c.priority),
		Flow: Flow(c.flow), Requested: int64(c.requested),
		Available: int64(c.available), WaitMs: int64(c.wait_ms),
		Retry: int(c.retry), Reason: C.GoString(c.reason),
		Detail: C.GoString(c.detail),
	}
	if c._type == C.JOBQ_EVENT_BLOCKED {
		ev.Resource = resourceNames[c.resource]
	}
	return ev
}

// DeployRequest is what a Deployer is asked to launch.
type DeployRequest struct {
	RunID     RunID // durable: use it to make Deploy idempotent
	RunName   string
	Job       string
	Domain    string
	Namespace string
	Priority  Priority
	Flow      Flow
	Request   Resources
	Payload   []byte
	Attempt   int // 1 for the first attempt
}

func deployRequestFromC(c *C.jobq_deploy_request) *DeployRequest {
	req := &DeployRequest{
		RunID: RunID(c.run_id), RunName: C.GoString(c.run_name),
		Job: C.GoString(c.job), Domain: C.GoString(c.domain),
		Namespace: C.GoString(c.ns), Priority: priorityFromC(c.priority),
		Flow: Flow(c.flow), Request: resourcesFromC(&c.request),
		Attempt: int(c.attempt),
	}
	if c.payload != nil && c.payload_len > 0 {
		req.Payload = C.GoBytes(c.payload, C.int(c.payload_len))
	}
	return req
}
