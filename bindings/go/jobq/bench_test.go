package jobq

// Benchmarks of the binding's own cost per run (bench/bench_bindings.sh
// compares the bindings with C): go test -run - -bench . -benchtime 20000x

import (
	"fmt"
	"testing"
	"time"
)

func benchScheduler(b *testing.B) *Scheduler {
	s, err := Open(Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.DefineJob(JobDef{Name: "j", Namespace: "ns"}); err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkSubmit(b *testing.B) {
	s := benchScheduler(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Submit("j", nil); err != nil {
			b.Fatal(err)
		}
	}
}

// One batch of b.N runs: ns/op must not grow with b.N (it was quadratic).
func BenchmarkSubmitBatch(b *testing.B) {
	for _, size := range []int{1000, 10000, 50000} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			runs := make([]BatchRun, size)
			for i := range runs {
				runs[i].Job = "j"
			}
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := benchScheduler(b)
				b.StartTimer()
				t0 := time.Now()
				if _, err := s.SubmitBatch(runs); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(t0)
				b.StopTimer()
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*size), "ns/run")
		})
	}
}
