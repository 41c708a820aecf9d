package jobq

// Scheduler: the Go face of one libjobq handle.
//
// Every method builds its C arguments, gets a call id and message buffer
// from s.begin, makes one cgo call into the shim (shim.go) and hands the
// result to s.finish, which keeps the Scheduler alive across the call
// (runtime.KeepAlive: the finalizer must not free the handle mid-call),
// prefers a panic recovered from one of this call's callbacks to the
// library's status, and turns a negative status into an *Error.

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/cgo"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// Durability of the SQLite store (when Options.DBPath is set).
type Durability int

const (
	DurabilityFull   Durability = C.JOBQ_DURABILITY_FULL
	DurabilityNormal Durability = C.JOBQ_DURABILITY_NORMAL
)

// Options configure Open. Every field is optional: no Probe means every
// namespace is unlimited, no Deployer is a dry run (runs are marked
// deployed), no Clock is the real clock.
type Options struct {
	Probe    Probe
	Deployer Deployer // may also implement Canceller and Poller
	Clock    Clock
	// OnEvent is called for every event, in order, on the goroutine whose
	// call caused it. It must not call back into the same Scheduler
	// (that call fails with ErrBusy).
	OnEvent    func(Event)
	Config     string // a JSON document (SPEC section 3, any subset)
	DBPath     string // SQLite file for durable state; "" = in memory
	Durability Durability
}

// Scheduler is safe for concurrent use by several goroutines.
type Scheduler struct {
	g         *C.gojobq
	handle    cgo.Handle
	host      *host
	closeOnce sync.Once
	readOnly  bool
}

// errCap is the size of the buffer a failed call's message is copied into.
const errCap = 1024

// Open creates a scheduler. Close it when done; a finalizer closes it if
// it becomes unreachable first.
func Open(opts Options) (*Scheduler, error) {
	h := &host{probe: opts.Probe, deployer: opts.Deployer, clock: opts.Clock,
		onEvent: opts.OnEvent}
	hosts := 0
	if opts.Clock != nil {
		hosts |= C.GOJOBQ_CLOCK
	}
	if opts.Probe != nil {
		hosts |= C.GOJOBQ_PROBE
	}
	if opts.Deployer != nil {
		hosts |= C.GOJOBQ_DEPLOYER
		if _, ok := opts.Deployer.(Canceller); ok {
			hosts |= C.GOJOBQ_CANCEL
		}
		if _, ok := opts.Deployer.(Poller); ok {
			hosts |= C.GOJOBQ_POLL
		}
	}
	if opts.OnEvent != nil {
		hosts |= C.GOJOBQ_EVENTS
	}
	if opts.Durability != DurabilityFull && opts.Durability != DurabilityNormal {
		return nil, invalidEnum("Durability", int(opts.Durability),
			"DurabilityFull or DurabilityNormal")
	}
	var args cargs
	defer args.free()
	config := args.optional("Config", opts.Config)
	db := args.optional("DBPath", opts.DBPath)
	if args.err != nil {
		return nil, args.err
	}

	handle := cgo.NewHandle(h)
	var g *C.gojobq
	var msg [errCap]C.char
	rc := C.gojobq_open(&g, C.uintptr_t(handle), C.int(hosts), config, db,
		C.int(opts.Durability), &msg[0], errCap)
	if p := h.takePanic(0); p != nil || rc < 0 {
		if rc == 0 {
			var ignored [errCap]C.char
			C.gojobq_close(g, &ignored[0], errCap)
			C.gojobq_free(g)
		}
		handle.Delete()
		if p != nil {
			return nil, p
		}
		return nil, newError(rc, C.GoString(&msg[0]))
	}
	s := &Scheduler{g: g, handle: handle, host: h}
	runtime.SetFinalizer(s, (*Scheduler).finalize)
	return s, nil
}

// OpenReadOnly opens the database at path read-only, to inspect it while
// another process may be running a scheduler on it (what jobqctl does):
// Run, ListRuns, Search, Explain, Metrics, GetProperty and Config work,
// and every call that would change something fails with ErrState. It uses
// the real clock and no host, and takes no lock on the file. ErrNotFound
// if the file does not exist.
func OpenReadOnly(path string) (*Scheduler, error) {
	var args cargs
	defer args.free()
	db := args.str("path", path)
	if args.err != nil {
		return nil, args.err
	}
	var g *C.gojobq
	var msg [errCap]C.char
	if rc := C.gojobq_open_read_only(&g, db, &msg[0], errCap); rc < 0 {
		return nil, newError(rc, C.GoString(&msg[0]))
	}
	h := &host{} // no callbacks; kept so that every method works alike
	s := &Scheduler{g: g, handle: cgo.NewHandle(h), host: h, readOnly: true}
	runtime.SetFinalizer(s, (*Scheduler).finalize)
	return s, nil
}

// ReadOnly reports whether s was opened with OpenReadOnly.
func (s *Scheduler) ReadOnly() bool {
	return s.readOnly
}

// Close frees the library handle. It is idempotent, waits for calls in
// progress on other goroutines, and fails with ErrBusy from inside one of
// this scheduler's own callbacks. Later calls fail with ErrState.
func (s *Scheduler) Close() error {
	var msg [errCap]C.char
	rc := C.gojobq_close(s.g, &msg[0], errCap)
	runtime.KeepAlive(s)
	if rc < 0 {
		return newError(rc, C.GoString(&msg[0]))
	}
	// No callback can run any more: the host can leave the handle table.
	s.closeOnce.Do(s.handle.Delete)
	return nil
}

func (s *Scheduler) finalize() {
	s.Close()
	C.gojobq_free(s.g)
}

// messages recycles the calls' message buffers: a fresh 1 KiB buffer per
// call was most of the allocation of a Submit.
var messages = sync.Pool{New: func() any { return new([errCap]C.char) }}

// begin starts a call: its id (for the callbacks it triggers) and a
// buffer for its error message, which finish gives back.
func (s *Scheduler) begin() (C.uint64_t, *[errCap]C.char) {
	return C.uint64_t(s.host.newCall()), messages.Get().(*[errCap]C.char)
}

// finish ends call `id`, whose shim call returned rc with message msg: a
// panic in one of its callbacks wins over the library's status.
func (s *Scheduler) finish(id C.uint64_t, rc C.int, msg *[errCap]C.char) error {
	runtime.KeepAlive(s) // the finalizer must not free the handle mid-call
	defer messages.Put(msg)
	if p := s.host.takePanic(uint64(id)); p != nil {
		return p
	}
	if rc >= 0 {
		return nil
	}
	return newError(rc, C.GoString(&msg[0]))
}

// cargs collects the C strings and buffers of one call, to free them all
// afterwards, and the first argument error.
type cargs struct {
	ptrs []unsafe.Pointer
	err  error
}

// fail records err as the call's argument error unless one came first.
func (a *cargs) fail(err error) {
	if a.err == nil && err != nil {
		a.err = err
	}
}

// alloc returns n zeroed bytes of C memory, freed with the rest. Arrays
// handed to C are C memory: cgo checks every Go pointer argument, and for
// a pointer into a Go slice it scans the whole slice, so filling a Go
// slice element by element through C calls costs O(n) per call.
// On failure it records ErrNoMemory and returns nil.
func (a *cargs) alloc(n int) unsafe.Pointer {
	p := C.calloc(C.size_t(max1(n)), 1)
	if p == nil {
		a.fail(&Error{Code: int(C.JOBQ_ENOMEM),
			Message: fmt.Sprintf("cannot allocate %d bytes", n)})
		return nil
	}
	a.ptrs = append(a.ptrs, p)
	return p
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

func (a *cargs) str(what, s string) *C.char {
	return a.strNamed(argName{prefix: what, index: -1}, s)
}

// argName names an argument in an error message: prefix, then "runs[i]."
// for an item of a batch (index >= 0), then field. The string is built
// only when an error is reported: a batch pays nothing per run for it.
type argName struct {
	prefix string
	index  int
	field  string
}

func (n argName) String() string {
	if n.index < 0 {
		return n.prefix + n.field
	}
	return n.prefix + "runs[" + strconv.Itoa(n.index) + "]." + n.field
}

func (n argName) with(field string) argName {
	n.field = field
	return n
}

func nulError(name argName) error {
	return &Error{Code: int(C.JOBQ_EINVAL),
		Message: name.String() + " must not contain a NUL byte"}
}

func (a *cargs) strNamed(name argName, s string) *C.char {
	if strings.IndexByte(s, 0) >= 0 {
		a.fail(nulError(name))
		return nil
	}
	p := C.CString(s)
	a.ptrs = append(a.ptrs, unsafe.Pointer(p))
	return p
}

// optional is str, with "" passed as NULL.
func (a *cargs) optional(what, s string) *C.char {
	if s == "" {
		return nil
	}
	return a.str(what, s)
}

func (a *cargs) bytes(b []byte) unsafe.Pointer {
	p := C.CBytes(b)
	a.ptrs = append(a.ptrs, p)
	return p
}

func (a *cargs) free() {
	for _, p := range a.ptrs {
		C.free(p)
	}
}

// JobDef defines a job. The zero Priority is normal, the zero Flow is the
// priority (queued) flow.
type JobDef struct {
	Name      string
	Domain    string
	Namespace string
	Priority  Priority
	Flow      Flow
	Request   Resources // default request of its runs; see ParseResources
	Payload   []byte    // opaque, for the Deployer
}

// DefineJob creates the job, or updates the one with that name.
func (s *Scheduler) DefineJob(def JobDef) error {
	var args cargs
	defer args.free()
	var c C.jobq_job_def
	C.jobq_job_def_init(&c, C.JOBQ_JOB_DEF_VERSION)
	c.name = args.str("Name", def.Name)
	c.domain = args.optional("Domain", def.Domain)
	c.ns = args.str("Namespace", def.Namespace)
	priority, err := def.Priority.toC("Priority")
	args.fail(err)
	c.priority = priority
	args.fail(def.Flow.check("Flow"))
	c.flow = C.jobq_flow(def.Flow)
	def.Request.toC(&c.request)
	if len(def.Payload) > 0 {
		c.payload = args.bytes(def.Payload)
		c.payload_len = C.size_t(len(def.Payload))
	}
	if args.err != nil {
		return args.err
	}
	call, msg := s.begin()
	return s.finish(call, C.go_jobq_job_define(s.g, call, &msg[0], errCap, &c), msg)
}

// SetJobFlow moves a job to the legacy or priority flow.
func (s *Scheduler) SetJobFlow(job string, flow Flow) error {
	var args cargs
	defer args.free()
	cjob := args.str("job", job)
	args.fail(flow.check("flow"))
	if args.err != nil {
		return args.err
	}
	call, msg := s.begin()
	return s.finish(call, C.go_jobq_job_set_flow(s.g, call, &msg[0], errCap, cjob,
		C.jobq_flow(flow)), msg)
}

// SubmitOptions are the optional parts of a submission.
type SubmitOptions struct {
	RunName        string     // searchable name of this run
	IdempotencyKey string     // needs a database
	Request        *Resources // overrides the job's request
	Priority       Priority   // overrides the job's priority
}

// submitOpts fills c from opts (nil: the defaults); what names the
// options in argument errors.
func (a *cargs) submitOpts(c *C.jobq_submit_opts, opts *SubmitOptions, what string) {
	C.jobq_submit_opts_init(c, C.JOBQ_SUBMIT_OPTS_VERSION)
	a.fillSubmitOpts(c, opts, argName{prefix: what, index: -1})
}

// fillSubmitOpts is submitOpts for a c that is already initialised.
func (a *cargs) fillSubmitOpts(c *C.jobq_submit_opts, opts *SubmitOptions, name argName) {
	if opts == nil {
		return
	}
	if opts.RunName != "" {
		c.run_name = a.strNamed(name.with("RunName"), opts.RunName)
	}
	if opts.IdempotencyKey != "" {
		c.idempotency_key = a.strNamed(name.with("IdempotencyKey"), opts.IdempotencyKey)
	}
	if opts.Request != nil {
		// C memory: a Go struct passed to C must not point to Go memory.
		request := (*C.jobq_resources)(C.malloc(C.sizeof_jobq_resources))
		a.ptrs = append(a.ptrs, unsafe.Pointer(request))
		opts.Request.toC(request)
		c.request = request
	}
	if opts.Priority != PriorityDefault {
		priority, err := opts.Priority.toC(name.with("Priority").String())
		a.fail(err)
		c.priority = C.int(priority)
	}
}

// Submit queues a run of job (or, on the legacy flow, deploys it at once)
// and returns its durable id. opts may be nil. With a database, a second
// submit with the same IdempotencyKey returns the first run's id.
func (s *Scheduler) Submit(job string, opts *SubmitOptions) (RunID, error) {
	var args cargs
	defer args.free()
	var copts *C.jobq_submit_opts // nil: the defaults, no cgo call to fill
	if opts != nil {
		copts = new(C.jobq_submit_opts)
		args.submitOpts(copts, opts, "")
	}
	cjob := args.str("job", job)
	if args.err != nil {
		return 0, args.err
	}
	var id C.jobq_run_id
	call, msg := s.begin()
	err := s.finish(call, C.go_jobq_run_submit(s.g, call, &msg[0], errCap, &id, cjob, copts), msg)
	return RunID(id), err
}

// BatchRun is one run of a SubmitBatch: a run of Job with the options.
type BatchRun struct {
	Job string
	SubmitOptions
}

// SubmitBatch submits runs in one transaction (one fsync for all of them
// with a database) and returns their ids, in order. All or none: if one
// fails, the error names its index ("runs[2]: ...") and no run of the
// batch is submitted (no ids are returned).
func (s *Scheduler) SubmitBatch(runs []BatchRun) ([]RunID, error) {
	var args cargs
	defer args.free()
	b := args.batch(runs)
	if args.err != nil {
		return nil, args.err
	}
	call, msg := s.begin()
	err := s.finish(call, C.go_jobq_run_submit_batch(s.g, call, &msg[0], errCap,
		b.out, b.jobs, b.opts, b.n), msg)
	return b.ids(), err
}

// cbatch is a SubmitBatch's arguments for jobq_run_submit_batch.
type cbatch struct {
	jobs **C.char
	opts *C.jobq_submit_opts
	out  *C.jobq_run_id
	n    C.size_t
}

// batch builds the C arrays of a batch (freed with a). They are C memory
// (see cargs.alloc): filling a Go slice through C calls made SubmitBatch
// quadratic. Any SubmitBatch (a Scheduler's, a Client's) should use it.
func (a *cargs) batch(runs []BatchRun) cbatch {
	n := len(runs)
	b := cbatch{
		jobs: (**C.char)(a.alloc(n * int(unsafe.Sizeof((*C.char)(nil))))),
		opts: (*C.jobq_submit_opts)(a.alloc(n * C.sizeof_jobq_submit_opts)),
		out:  (*C.jobq_run_id)(a.alloc(n * C.sizeof_jobq_run_id)),
		n:    C.size_t(n),
	}
	if a.err != nil {
		return b
	}
	// Viewed as Go slices to fill. No cgo call per run: one initialised
	// template copied n times, and the job names copied into one block.
	jobs := unsafe.Slice(b.jobs, max1(n))[:n]
	opts := unsafe.Slice(b.opts, max1(n))[:n]
	var template C.jobq_submit_opts
	C.jobq_submit_opts_init(&template, C.JOBQ_SUBMIT_OPTS_VERSION)
	size := 0
	for i := range runs {
		size += len(runs[i].Job) + 1
	}
	block := a.alloc(size)
	if block == nil {
		return b
	}
	names := unsafe.Slice((*byte)(block), max1(size))
	at := 0
	for i := range runs {
		opts[i] = template
		a.fillSubmitOpts(&opts[i], &runs[i].SubmitOptions, argName{index: i})
		job := runs[i].Job
		if strings.IndexByte(job, 0) >= 0 {
			a.fail(nulError(argName{index: i, field: "Job"}))
		}
		if a.err != nil {
			break
		}
		copy(names[at:], job) // calloc'd: the terminating NUL is there
		jobs[i] = (*C.char)(unsafe.Pointer(&names[at]))
		at += len(job) + 1
	}
	return b
}

// ids are the ids the library wrote, up to the failed run (0) if one did.
func (b cbatch) ids() []RunID {
	ids := make([]RunID, 0, int(b.n))
	for _, id := range unsafe.Slice(b.out, max1(int(b.n)))[:b.n] {
		if id == 0 { // the failed run and those after it
			break
		}
		ids = append(ids, RunID(id))
	}
	return ids
}

// Ended is a run a host learned has ended, for ReportBatch and TickBatch:
// State is RunFinished or RunFailed; Detail may be empty.
type Ended struct {
	ID     RunID
	State  RunState
	Detail string
}

// cended is the C arrays of a list of Ended runs (freed with a).
type cended struct {
	ids     *C.jobq_run_id
	states  *C.jobq_run_state
	details **C.char
	n       C.size_t
}

func (a *cargs) ended(list []Ended) cended {
	n := len(list)
	e := cended{
		ids:     (*C.jobq_run_id)(a.alloc(n * C.sizeof_jobq_run_id)),
		states:  (*C.jobq_run_state)(a.alloc(n * int(unsafe.Sizeof(C.jobq_run_state(0))))),
		details: (**C.char)(a.alloc(n * int(unsafe.Sizeof((*C.char)(nil))))),
		n:       C.size_t(n),
	}
	if a.err != nil {
		return e
	}
	ids := unsafe.Slice(e.ids, max1(n))[:n]
	states := unsafe.Slice(e.states, max1(n))[:n]
	details := unsafe.Slice(e.details, max1(n))[:n]
	for i, r := range list {
		a.fail(r.State.check(fmt.Sprintf("ended[%d].State", i)))
		ids[i] = C.jobq_run_id(r.ID)
		states[i] = C.jobq_run_state(r.State)
		details[i] = a.optional("detail", r.Detail)
	}
	return e
}

// ReportBatch reports several deployed runs ended in one transaction (one
// fsync with a database). All or nothing: a bad entry changes nothing and
// the error names it ("runs[i]: ...").
func (s *Scheduler) ReportBatch(ended []Ended) error {
	var args cargs
	defer args.free()
	e := args.ended(ended)
	if args.err != nil {
		return args.err
	}
	if e.n == 0 {
		return nil
	}
	call, msg := s.begin()
	return s.finish(call, C.go_jobq_run_report_batch(s.g, call, &msg[0], errCap,
		e.ids, e.states, e.details, e.n), msg)
}

// TickBatch runs one scheduling cycle at the scheduler's clock time with
// the host's news in its transaction: see TickBatchAt.
func (s *Scheduler) TickBatch(submit []BatchRun, ended []Ended) (TickStats, []RunID, error) {
	return s.TickBatchAt(timeNow, submit, ended)
}

// TickBatchAt runs one scheduling cycle at now (ms) with the host's news
// in the cycle's own transaction (jobq_tick_batch): the runs of
// submit are submitted, the runs of ended reported, then the cycle runs,
// with no commit of their own. It returns the cycle's stats and the new
// runs' ids. A bad entry fails the call before anything changes ("submit:
// runs[i]: ..." or "report: runs[i]: ..."). On any error the ids are those
// of the new runs if the input took effect anyway (the failure came after
// the commit that made it durable), else nil.
func (s *Scheduler) TickBatchAt(now int64, submit []BatchRun, ended []Ended) (TickStats, []RunID, error) {
	var args cargs
	defer args.free()
	b := args.batch(submit)
	e := args.ended(ended)
	if args.err != nil {
		return TickStats{}, nil, args.err
	}
	in := C.jobq_tick_input{version: C.JOBQ_TICK_INPUT_VERSION,
		submit_count: b.n, submit_jobs: b.jobs, submit_opts: b.opts,
		submit_ids: b.out, report_count: e.n, report_ids: e.ids,
		report_states: e.states, report_details: e.details}
	c := C.jobq_tick_stats{version: C.JOBQ_TICK_STATS_VERSION}
	call, msg := s.begin()
	err := s.finish(call, C.go_jobq_tick_batch(s.g, call, &msg[0], errCap,
		C.jobq_time_ms(now), &in, &c), msg)
	ids := b.ids()
	if len(ids) == 0 {
		ids = nil
	}
	return tickStatsFromC(&c), ids, err
}

// Cancel cancels a queued or running run; ErrState if it already ended.
func (s *Scheduler) Cancel(id RunID, detail string) error {
	var args cargs
	defer args.free()
	cdetail := args.optional("detail", detail)
	if args.err != nil {
		return args.err
	}
	call, msg := s.begin()
	return s.finish(call, C.go_jobq_run_cancel(s.g, call, &msg[0], errCap, C.jobq_run_id(id),
		cdetail), msg)
}

// Report ends a deployed run as RunFinished or RunFailed (for deployers
// that do not implement Poller).
func (s *Scheduler) Report(id RunID, state RunState, detail string) error {
	var args cargs
	defer args.free()
	cdetail := args.optional("detail", detail)
	args.fail(state.check("state"))
	if args.err != nil {
		return args.err
	}
	call, msg := s.begin()
	return s.finish(call, C.go_jobq_run_report(s.g, call, &msg[0], errCap, C.jobq_run_id(id),
		C.jobq_run_state(state), cdetail), msg)
}

// Run returns a snapshot of a run; ErrNotFound if there is no such run.
func (s *Scheduler) Run(id RunID) (RunInfo, error) {
	var c C.jobq_run_info
	C.jobq_run_info_init(&c, C.JOBQ_RUN_INFO_VERSION)
	call, msg := s.begin()
	if err := s.finish(call, C.go_jobq_run_get(s.g, call, &msg[0], errCap, &c,
		C.jobq_run_id(id)), msg); err != nil {
		return RunInfo{}, err
	}
	return runInfoFromC(&c), nil
}

// Tick runs one scheduling cycle at the scheduler's clock time.
func (s *Scheduler) Tick() (TickStats, error) {
	return s.TickAt(timeNow)
}

// TickAt runs one scheduling cycle at now (ms). Time must not go back.
func (s *Scheduler) TickAt(now int64) (TickStats, error) {
	c := C.jobq_tick_stats{version: C.JOBQ_TICK_STATS_VERSION}
	call, msg := s.begin()
	err := s.finish(call, C.go_jobq_tick(s.g, call, &msg[0], errCap, C.jobq_time_ms(now), &c),
		msg)
	return tickStatsFromC(&c), err
}

// NextDeadline is when the next time-driven action is due (ms), or
// NoDeadline.
func (s *Scheduler) NextDeadline() (int64, error) {
	var out C.jobq_time_ms
	call, msg := s.begin()
	err := s.finish(call, C.go_jobq_next_deadline(s.g, call, &msg[0], errCap, &out), msg)
	return int64(out), err
}

// Configure applies a JSON configuration document, all or nothing.
func (s *Scheduler) Configure(document string) error {
	var args cargs
	defer args.free()
	cdoc := args.str("document", document)
	if args.err != nil {
		return args.err
	}
	call, msg := s.begin()
	return s.finish(call, C.go_jobq_configure(s.g, call, &msg[0], errCap, cdoc), msg)
}

// SetProperty sets one property to value, sent as JSON (90, true).
func (s *Scheduler) SetProperty(key string, value any) error {
	var args cargs
	defer args.free()
	ckey, cvalue := args.property(key, value)
	if args.err != nil {
		return args.err
	}
	call, msg := s.begin()
	return s.finish(call, C.go_jobq_property_set(s.g, call, &msg[0], errCap, ckey, cvalue),
		msg)
}

// property is a property's key and value (as JSON) as C strings. A value
// json.Marshal refuses is an ErrInvalid *Error naming the key, the json
// error reachable with errors.As.
func (a *cargs) property(key string, value any) (ckey, cvalue *C.char) {
	text, err := json.Marshal(value)
	if err != nil {
		a.fail(&Error{Code: int(C.JOBQ_EINVAL), Err: err,
			Message: fmt.Sprintf("%s: the value cannot be sent as JSON: %v", key, err)})
		return nil, nil
	}
	return a.str("key", key), a.str("value", string(text))
}

// GetProperty returns one property's value as JSON; ErrNotFound if the
// key is unknown.
func (s *Scheduler) GetProperty(key string) (json.RawMessage, error) {
	var args cargs
	defer args.free()
	ckey := args.str("key", key)
	if args.err != nil {
		return nil, args.err
	}
	var buf [4096]C.char
	call, msg := s.begin()
	if err := s.finish(call, C.go_jobq_property_get(s.g, call, &msg[0], errCap, ckey,
		&buf[0], C.size_t(len(buf))), msg); err != nil {
		return nil, err
	}
	return json.RawMessage(C.GoString(&buf[0])), nil
}

// Config returns the whole effective configuration as a JSON document.
func (s *Scheduler) Config() (string, error) {
	var out *C.char
	call, msg := s.begin()
	if err := s.finish(call, C.go_jobq_config_dump(s.g, call, &msg[0], errCap, &out),
		msg); err != nil {
		return "", err
	}
	defer C.jobq_free(unsafe.Pointer(out))
	return C.GoString(out), nil
}

// MigrateToLegacy flips every job to the legacy flow and deploys their
// queued runs; it returns how many runs moved.
func (s *Scheduler) MigrateToLegacy() (uint64, error) {
	var out C.uint64_t
	call, msg := s.begin()
	err := s.finish(call, C.go_jobq_migrate_to_legacy(s.g, call, &msg[0], errCap, &out), msg)
	return uint64(out), err
}

// Cleanup applies retention now: it deletes the terminal runs (and their
// events) that ended more than retentionPeriod seconds ago, at most
// maxRuns of them (0: all), whether or not jobRunCleanup is enabled, and
// returns how many it deleted.
func (s *Scheduler) Cleanup(maxRuns uint64) (uint64, error) {
	var out C.uint64_t
	call, msg := s.begin()
	err := s.finish(call, C.go_jobq_cleanup(s.g, call, &msg[0], errCap,
		C.uint64_t(maxRuns), &out), msg)
	return uint64(out), err
}

// MetricsContentType is the Content-Type to serve Metrics with.
const MetricsContentType = C.JOBQ_METRICS_CONTENT_TYPE

// Metrics renders every metric in the Prometheus text exposition format
// 0.0.4, for a host to serve on /metrics (with MetricsContentType).
func (s *Scheduler) Metrics() (string, error) {
	var out *C.char
	var n C.size_t
	call, msg := s.begin()
	if err := s.finish(call, C.go_jobq_metrics_render(s.g, call, &msg[0], errCap,
		&out, &n), msg); err != nil {
		return "", err
	}
	defer C.jobq_free(unsafe.Pointer(out))
	return C.GoStringN(out, C.int(n)), nil
}

// Version is the version of the loaded library ("0.1.0").
func Version() string {
	return C.GoString(C.jobq_version())
}

// VersionNumber is major*10000 + minor*100 + patch of the loaded library.
func VersionNumber() int {
	return int(C.jobq_version_number())
}
