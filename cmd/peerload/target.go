package main

import "time"

// procSample is one reading of the target process's /proc figures.
type procSample struct {
	at  time.Time
	cpu time.Duration // user + system, all threads
	rss int64         // bytes resident
}

// sampleTarget reads process pid's CPU time and resident memory. pid 0
// means the target was not named (--pid): no reading, no error.
func sampleTarget(pid int) (*procSample, error) {
	if pid == 0 {
		return nil, nil
	}
	cpu, err := procCPU(pid)
	if err != nil {
		return nil, err
	}
	rss, err := procRSS(pid)
	if err != nil {
		return nil, err
	}
	return &procSample{at: time.Now(), cpu: cpu, rss: rss}, nil
}

// kB is a byte count as kilobytes (1,024 bytes), for the results.
func kB(b int64) float64 { return float64(b) / 1024 }

// microsPer is d / n in microseconds; 0 when n is 0.
func microsPer(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(d) / float64(n) / 1e3
}
