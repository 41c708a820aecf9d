// The bindings benchmark, Go side: bench/bindings.c's workload through the
// Go binding (see there). Prints the medians of 3, "name rate" per line,
// in operations per second.
//
//	cd bench/bindings-go && PKG_CONFIG_PATH=../../build/bindings/go \
//	    LD_LIBRARY_PATH=../../build/lib go run . [RUNS]
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
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

func submitRate(runs int) float64 {
	s := open()
	defer s.Close()
	t0 := time.Now()
	for i := 0; i < runs; i++ {
		_, err := s.Submit(jobs[i%len(jobs)], nil)
		check(err)
	}
	return float64(runs) / time.Since(t0).Seconds()
}

func batchSubmit(s *jobq.Scheduler, runs int) float64 {
	items := make([]jobq.BatchRun, runs)
	for i := range items {
		items[i].Job = jobs[i%len(jobs)]
	}
	t0 := time.Now()
	for done := 0; done < runs; done += batch {
		end := done + batch
		if end > runs {
			end = runs
		}
		_, err := s.SubmitBatch(items[done:end])
		check(err)
	}
	return float64(runs) / time.Since(t0).Seconds()
}

func batchRate(runs int) float64 {
	s := open()
	defer s.Close()
	return batchSubmit(s, runs)
}

func tickRate(runs int) float64 {
	s := open()
	defer s.Close()
	batchSubmit(s, runs)
	now := int64(1000)
	_, err := s.TickAt(now)
	check(err)
	t0 := time.Now()
	for t := 0; t < ticks; t++ {
		now += 1000
		st, err := s.TickAt(now)
		check(err)
		if st.Deployed != 20 {
			check(fmt.Errorf("a tick deployed %d runs, not 20", st.Deployed))
		}
	}
	return ticks / time.Since(t0).Seconds()
}

func oneBatchRate(runs int) float64 {
	s := open()
	defer s.Close()
	items := make([]jobq.BatchRun, runs)
	for i := range items {
		items[i].Job = jobs[i%len(jobs)]
	}
	t0 := time.Now()
	_, err := s.SubmitBatch(items)
	check(err)
	return float64(runs) / time.Since(t0).Seconds()
}

func median(measure func(int) float64, runs int) float64 {
	r := make([]float64, repeat)
	for i := range r {
		r[i] = measure(runs)
	}
	sort.Float64s(r)
	return r[repeat/2]
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
	fmt.Printf("submit %.0f\n", median(submitRate, runs))
	fmt.Printf("batch %.0f\n", median(batchRate, runs))
	fmt.Printf("tick %.0f\n", median(tickRate, runs))
	fmt.Printf("onebatch %.0f\n", median(oneBatchRate, runs))
}
