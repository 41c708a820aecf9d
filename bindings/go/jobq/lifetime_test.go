package jobq

// Handle lifetime and goroutines: Close is idempotent and waits for calls
// in progress, an unreachable Scheduler is freed by its finalizer, and
// several goroutines can share one Scheduler and each get its own error
// messages.

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/cgo"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestConcurrentGoroutines(t *testing.T) {
	clock := &fakeClock{}
	c := newCluster(clock, map[string]map[string]string{"a": {}, "b": {}})
	var events atomic.Int64
	s := open(t, Options{Probe: c, Deployer: c, Clock: clock,
		OnEvent: func(Event) { events.Add(1) }})
	must(t, s.DefineJob(JobDef{Name: "ja", Namespace: "a"}))
	must(t, s.DefineJob(JobDef{Name: "jb", Namespace: "b", Priority: PriorityHigh}))

	const workers, perWorker = 8, 200
	var wg sync.WaitGroup
	ids := make(chan RunID, workers*perWorker)
	wrong := make(chan string, workers*perWorker)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			job := []string{"ja", "jb"}[w%2]
			for i := 0; i < perWorker; i++ {
				id, err := s.Submit(job, nil)
				if err != nil {
					wrong <- err.Error()
					return
				}
				ids <- id
				if _, err := s.Tick(); err != nil {
					wrong <- err.Error()
				}
				// An id only this goroutine asks for: its message must
				// name that id even while other goroutines fail too.
				missing := RunID(1e9 + w*1000 + i)
				_, err = s.Run(missing)
				if want := fmt.Sprintf("jobq: no run with id %d", missing); err == nil || err.Error() != want {
					wrong <- fmt.Sprintf("got %v, want %s", err, want)
				}
				runtime.Gosched() // encourage hopping between OS threads
			}
		}(w)
	}
	wg.Wait()
	close(ids)
	close(wrong)
	for msg := range wrong {
		t.Error(msg)
	}
	mustTick(t, s)
	seen := map[RunID]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("id %d twice", id)
		}
		seen[id] = true
		if info := mustRun(t, s, id); info.State != RunRunning {
			t.Fatalf("run %d is %v", id, info.State)
		}
	}
	// submitted + deployed for every run.
	if len(seen) != workers*perWorker || events.Load() != 2*workers*perWorker {
		t.Fatalf("%d runs, %d events", len(seen), events.Load())
	}
}

func TestCloseWaitsForACallInProgress(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	s, err := Open(Options{Probe: ProbeFunc(func(string) (Resources, Resources, error) {
		close(entered)
		<-release // hold the tick inside the library
		return NoLimit, Resources{}, nil
	})})
	must(t, err)
	must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns"}))
	mustSubmit(t, s, "j")
	tickDone := make(chan error)
	go func() { _, err := s.TickAt(1); tickDone <- err }()
	<-entered
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while a tick was using the handle")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	must(t, <-tickDone)
	must(t, <-closed)
}

func TestFinalizerFreesAnUnreachableScheduler(t *testing.T) {
	freed := make(chan struct{})
	func() {
		s, err := Open(Options{Clock: ClockFunc(func() int64 { return 1 })})
		must(t, err)
		must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns"}))
		mustSubmit(t, s, "j")
		// A second finalizer-like probe: observe the handle being released.
		h := s.handle
		go func() {
			for i := 0; i < 200; i++ {
				runtime.GC()
				if !handleLive(h) {
					close(freed)
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}()
	select {
	case <-freed:
	case <-time.After(5 * time.Second):
		t.Fatal("the Scheduler was never finalized: something keeps it alive")
	}
}

// handleLive reports whether a cgo.Handle is still registered.
func handleLive(h cgo.Handle) (live bool) {
	defer func() { recover() }() // Value panics on a deleted handle
	h.Value()
	return true
}

func TestPanicIsReturnedByTheCallThatCausedIt(t *testing.T) {
	// Every goroutine submits runs; the event sink panics on the runs of
	// goroutine 0 only. Exactly its submits fail, with its own panic, even
	// though the others' calls finish in between.
	s := open(t, Options{OnEvent: func(e Event) {
		if strings.HasPrefix(e.RunName, "boom-") {
			panic(e.RunName)
		}
	}})
	must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns"}))
	var wg sync.WaitGroup
	errs := make(chan string, 1000)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				name := fmt.Sprintf("ok-%d-%d", w, i)
				if w == 0 {
					name = fmt.Sprintf("boom-%d", i)
				}
				_, err := s.Submit("j", &SubmitOptions{RunName: name})
				var p *CallbackPanic
				switch {
				case w == 0 && (!errors.As(err, &p) || p.Value != name):
					errs <- fmt.Sprintf("%s: got %v", name, err)
				case w != 0 && err != nil:
					errs <- fmt.Sprintf("%s: got %v", name, err)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
