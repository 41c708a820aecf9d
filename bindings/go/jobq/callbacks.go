package jobq

// Go hosts behind the C vtables: the interfaces a host implements, and the
// exported trampolines the C shim (shim.go) calls.
//
// The vtables' ctx is a cgo.Handle to a *host, never a Go pointer. The host
// holds no reference to its Scheduler, so a Scheduler nobody refers to can
// be finalized even though the handle table still holds its host.
//
// A panic in host code is recovered here (it cannot unwind through C),
// reported to the library as a failed callback, and returned as a
// *CallbackPanic by the Scheduler method that was running.

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"runtime/cgo"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Probe reports a namespace's quota: hard limits (Unlimited where none;
// start from NoLimit) and what is used right now. An error means the quota
// cannot be read: the namespace admits nothing this cycle.
type Probe interface {
	ReadQuota(namespace string) (hard, used Resources, err error)
}

// ProbeFunc adapts a function to Probe.
type ProbeFunc func(namespace string) (hard, used Resources, err error)

func (f ProbeFunc) ReadQuota(ns string) (Resources, Resources, error) { return f(ns) }

// ErrQuotaRejected is what Deploy returns (or wraps) when the cluster
// refused the run on quota (Kubernetes 403 "exceeded quota"): the run goes
// back to the head of its queue.
var ErrQuotaRejected = errors.New("jobq: exceeded quota")

// Deployer launches runs. Any other error than ErrQuotaRejected is an
// ordinary failure: the library retries with backoff, then fails the run
// with the error's message.
type Deployer interface {
	Deploy(req *DeployRequest) error
}

// Canceller is implemented by a Deployer that can stop a running run.
type Canceller interface {
	Cancel(id RunID) error
}

// PollStatus is what a Poller reports about a deployed run.
type PollStatus int

const (
	PollRunning       PollStatus = C.JOBQ_POLL_RUNNING
	PollFinished      PollStatus = C.JOBQ_POLL_FINISHED
	PollFailed        PollStatus = C.JOBQ_POLL_FAILED
	PollGone          PollStatus = C.JOBQ_POLL_GONE
	PollQuotaRejected PollStatus = C.JOBQ_POLL_QUOTA_REJECTED
)

// Poller is implemented by a Deployer that can report run completions.
// Without it the host calls Scheduler.Report.
type Poller interface {
	Poll(id RunID) (status PollStatus, message string, err error)
}

// Clock gives the scheduler's time in milliseconds.
type Clock interface {
	NowMs() int64
}

// ClockFunc adapts a function to Clock.
type ClockFunc func() int64

func (f ClockFunc) NowMs() int64 { return f() }

// host is what a vtable's ctx handle stands for.
type host struct {
	probe    Probe
	deployer Deployer
	clock    Clock
	onEvent  func(Event)

	lastCall uint64 // ids of the Scheduler's calls (atomic)
	// How many panics pending holds (atomic): the common case, none,
	// costs every call one atomic load instead of the mutex.
	npending int32
	mu       sync.Mutex
	pending  map[uint64]*CallbackPanic // first panic per call id
}

// newCall returns the id of a new Go call, passed to C and back to the
// callbacks it triggers.
func (h *host) newCall() uint64 {
	return atomic.AddUint64(&h.lastCall, 1)
}

func hostOf(token C.uintptr_t) *host {
	return cgo.Handle(token).Value().(*host)
}

// catch is deferred by every trampoline: it recovers a panic, keeps it for
// the Scheduler method to return, and lets the trampoline return failed.
func (h *host) catch(call C.uint64_t, callback string, failed func()) {
	r := recover()
	if r == nil {
		return
	}
	h.mu.Lock()
	if h.pending == nil {
		h.pending = map[uint64]*CallbackPanic{}
	}
	if h.pending[uint64(call)] == nil {
		h.pending[uint64(call)] = &CallbackPanic{Callback: callback, Value: r,
			Stack: debug.Stack()}
		atomic.AddInt32(&h.npending, 1)
	}
	h.mu.Unlock()
	if failed != nil {
		failed()
	}
}

// takePanic returns (and forgets) the panic of call id, if any.
func (h *host) takePanic(call uint64) error {
	if atomic.LoadInt32(&h.npending) == 0 {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.pending[call]
	if p == nil {
		return nil
	}
	delete(h.pending, call)
	atomic.AddInt32(&h.npending, -1)
	return p
}

// setMessage copies text into a library-owned message buffer.
func setMessage(msg *C.char, capacity C.size_t, text string) {
	if msg == nil || capacity == 0 {
		return
	}
	buf := unsafe.Slice((*byte)(unsafe.Pointer(msg)), int(capacity))
	n := copy(buf[:len(buf)-1], text)
	buf[n] = 0
}

//export goJobqNow
func goJobqNow(token C.uintptr_t, call C.uint64_t) (now C.int64_t) {
	h := hostOf(token)
	defer h.catch(call, "clock", nil) // no error path: a panicking clock reads 0
	return C.int64_t(h.clock.NowMs())
}

//export goJobqReadQuota
func goJobqReadQuota(token C.uintptr_t, call C.uint64_t, ns *C.char, hard, used *C.jobq_resources) (rc C.int) {
	h := hostOf(token)
	defer h.catch(call, "probe", func() { rc = -1 })
	hardR, usedR, err := h.probe.ReadQuota(C.GoString(ns))
	if err != nil {
		return -1
	}
	hardR.toC(hard)
	usedR.toC(used)
	return 0
}

//export goJobqDeploy
func goJobqDeploy(token C.uintptr_t, call C.uint64_t, req *C.jobq_deploy_request, msg *C.char, capacity C.size_t) (rc C.int) {
	h := hostOf(token)
	defer h.catch(call, "deploy", func() {
		setMessage(msg, capacity, "panic in a Go deploy callback")
		rc = C.JOBQ_EUSER
	})
	err := h.deployer.Deploy(deployRequestFromC(req))
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrQuotaRejected):
		setMessage(msg, capacity, err.Error())
		return C.JOBQ_DEPLOY_QUOTA_REJECTED
	default:
		setMessage(msg, capacity, err.Error())
		return -1
	}
}

//export goJobqCancel
func goJobqCancel(token C.uintptr_t, call C.uint64_t, id C.uint64_t, msg *C.char, capacity C.size_t) (rc C.int) {
	h := hostOf(token)
	defer h.catch(call, "cancel", func() {
		setMessage(msg, capacity, "panic in a Go cancel callback")
		rc = C.JOBQ_EUSER
	})
	if err := h.deployer.(Canceller).Cancel(RunID(id)); err != nil {
		setMessage(msg, capacity, err.Error())
		return -1
	}
	return 0
}

//export goJobqPoll
func goJobqPoll(token C.uintptr_t, call C.uint64_t, id C.uint64_t, status *C.jobq_poll_status, msg *C.char, capacity C.size_t) (rc C.int) {
	h := hostOf(token)
	defer h.catch(call, "poll", func() { rc = C.JOBQ_EUSER })
	st, text, err := h.deployer.(Poller).Poll(RunID(id))
	if err != nil {
		return -1 // unknown for now: the library asks again next cycle
	}
	*status = C.jobq_poll_status(st)
	setMessage(msg, capacity, text)
	return 0
}

//export goJobqEvent
func goJobqEvent(token C.uintptr_t, call C.uint64_t, event *C.jobq_event) {
	h := hostOf(token)
	defer h.catch(call, "event", nil)
	h.onEvent(eventFromC(event))
}
