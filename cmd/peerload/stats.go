package main

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
)

// millis is a duration that marshals to JSON as milliseconds with three
// decimals (microseconds).
type millis time.Duration

func (m millis) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, math.Round(float64(m)/1e3)/1e3, 'f', -1, 64), nil
}

func (m *millis) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*m = millis(time.Duration(math.Round(f * 1e6)))
	return nil
}

// summary summarizes a sample of durations.
type summary struct {
	N    int    `json:"n"`
	Min  millis `json:"min_ms"`
	P50  millis `json:"p50_ms"`
	P90  millis `json:"p90_ms"`
	P99  millis `json:"p99_ms"`
	Max  millis `json:"max_ms"`
	Mean millis `json:"mean_ms"`
}

// percentile is the nearest-rank percentile p (0 < p <= 100) of sorted, a
// non-empty ascending sample: the smallest value that at least p percent
// of the sample is less than or equal to. It is always a value of the
// sample: p99 of 100 values is the 99th smallest, of 1,000 values the
// 990th, and of 10 values the largest.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// The epsilon keeps a product that floating point puts a hair above
	// an integer (99.9% of 1,000 is 999.0000000000001) on that integer.
	rank := int(math.Ceil(p*float64(n)/100 - 1e-9))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// summarize returns the summary of xs (which it sorts); N is 0 and the
// rest zero for an empty sample.
func summarize(xs []time.Duration) summary {
	if len(xs) == 0 {
		return summary{}
	}
	slices.Sort(xs)
	var sum float64
	for _, x := range xs {
		sum += float64(x)
	}
	return summary{
		N:    len(xs),
		Min:  millis(xs[0]),
		P50:  millis(percentile(xs, 50)),
		P90:  millis(percentile(xs, 90)),
		P99:  millis(percentile(xs, 99)),
		Max:  millis(xs[len(xs)-1]),
		Mean: millis(time.Duration(sum / float64(len(xs)))),
	}
}
