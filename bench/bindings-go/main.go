// The bindings benchmark, Go side: bench/bindings.c's workload through the
// Go binding (see there). Prints the medians of 3, "name wall-rate
// cpu-rate" per line, in operations per second of wall and CPU time (the
// process's, GC included).
//
//	cd bench/bindings-go && PKG_CONFIG_PATH=../../build/bindings/go \
//	    LD_LIBRARY_PATH=../../build/lib go run . [RUNS]
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"syscall"
	"time"

	"libjobq.org/jobq"
)

const (
	namespaces = 8
	batch      = 1000
	ticks      = 200
	repeat     = 3
)

var jobs []string

type host struct{}

func (host) ReadQuota(string) (jobq.Resources, jobq.Resources, error) {
	return jobq.NoLimit, jobq.Resources{}, nil
}

func (host) Deploy(*jobq.DeployRequest) error { return nil }

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func open() *jobq.Scheduler {
	s, err := jobq.Open(jobq.Options{Probe: host{}, Deployer: host{},
		Config: `{"services":{"jobOrchestrator":{"settings":{"batchSize":20}}}}`})
	check(err)
	for j, name := range jobs {
		priority := jobq.PriorityHigh
		if j%2 == 1 {
			priority = jobq.PriorityNormal
		}
		check(s.DefineJob(jobq.JobDef{Name: name,
			Namespace: fmt.Sprintf("ns-%d", j/2), Priority: priority,
			Request: jobq.Resources{CPU: 1000}}))
	}
	return s
}

// stopwatch: wall and process CPU time since start().
type stopwatch struct {
	wall time.Time
	cpu  time.Duration
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	check(syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func start() stopwatch { return stopwatch{time.Now(), cpuTime()} }

func (sw stopwatch) rates(ops int) [2]float64 {
	return [2]float64{float64(ops) / time.Since(sw.wall).Seconds(),
		float64(ops) / (cpuTime() - sw.cpu).Seconds()}
}

func submitRate(runs int) [2]float64 {
	s := open()
	defer s.Close()
	t0 := start()
	for i := 0; i < runs; i++ {
		_, err := s.Submit(jobs[i%len(jobs)], nil)
		check(err)
	}
	return t0.rates(runs)
}

func batchSubmit(s *jobq.Scheduler, runs int) [2]float64 {
	items := make([]jobq.BatchRun, runs)
	for i := range items {
		items[i].Job = jobs[i%len(jobs)]
	}
	t0 := start()
	for done := 0; done < runs; done += batch {
		end := done + batch
		if end > runs {
			end = runs
		}
		_, err := s.SubmitBatch(items[done:end])
		check(err)
	}
	return t0.rates(runs)
}

func batchRate(runs int) [2]float64 {
	s := open()
	defer s.Close()
	return batchSubmit(s, runs)
}

func tickRate(runs int) [2]float64 {
	s := open()
	defer s.Close()
	batchSubmit(s, runs)
	now := int64(1000)
	_, err := s.TickAt(now)
	check(err)
	t0 := start()
	for t := 0; t < ticks; t++ {
		now += 1000
		st, err := s.TickAt(now)
		check(err)
		if st.Deployed != 20 {
			check(fmt.Errorf("a tick deployed %d runs, not 20", st.Deployed))
		}
	}
	return t0.rates(ticks)
}

func oneBatchRate(runs int) [2]float64 {
	s := open()
	defer s.Close()
	items := make([]jobq.BatchRun, runs)
	for i := range items {
		items[i].Job = jobs[i%len(jobs)]
	}
	t0 := start()
	_, err := s.SubmitBatch(items)
	check(err)
	return t0.rates(runs)
}

// report prints "name wall cpu", the medians of repeat measures.
func report(name string, measure func(int) [2]float64, runs int) {
	wall := make([]float64, repeat)
	cpu := make([]float64, repeat)
	for i := range wall {
		r := measure(runs)
		wall[i], cpu[i] = r[0], r[1]
	}
	sort.Float64s(wall)
	sort.Float64s(cpu)
	fmt.Printf("%s %.0f %.0f\n", name, wall[repeat/2], cpu[repeat/2])
}

func main() {
	runs := 20000
	if len(os.Args) > 1 {
		n, err := strconv.Atoi(os.Args[1])
		check(err)
		runs = n
	}
	for j := 0; j < 2*namespaces; j++ {
		jobs = append(jobs, fmt.Sprintf("job-%d-%d", j/2, j%2))
	}
	report("submit", submitRate, runs)
	report("batch", batchRate, runs)
	report("tick", tickRate, runs)
	report("onebatch", oneBatchRate, runs)
}
