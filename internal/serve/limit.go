package serve

import (
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// limiter is a token bucket per key (a token's name, an address): rate
// requests a second on average, bursts of twice as many. A rate of 0
// limits nothing. Buckets full again are dropped now and then, so the map
// holds only the keys of the last few seconds.
type limiter struct {
	rate float64
	now  func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(rate int) *limiter {
	return &limiter{rate: float64(rate), now: time.Now, buckets: map[string]*bucket{}}
}

// allow takes one request from key's bucket; when it is empty it says
// how long until one is there (for Retry-After).
func (l *limiter) allow(key string) (bool, time.Duration) {
	if l == nil || l.rate <= 0 {
		return true, 0
	}
	burst := 2 * l.rate
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > 10*time.Second {
		for k, b := range l.buckets {
			if b.tokens+now.Sub(b.at).Seconds()*l.rate >= burst {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// retryAfterOf is a wait as Retry-After's whole seconds, at least 1.
func retryAfterOf(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// inFlight caps the requests a key runs at once; a cap of 0 caps nothing.
type inFlight struct {
	limit int32
	mu    sync.Mutex
	n     map[string]*atomic.Int32
}

func newInFlight(limit int) *inFlight {
	return &inFlight{limit: int32(limit), n: map[string]*atomic.Int32{}}
}

// enter counts a request of key in, unless key runs limit already; done
// counts it out.
func (f *inFlight) enter(key string) (done func(), ok bool) {
	if f == nil || f.limit <= 0 {
		return func() {}, true
	}
	f.mu.Lock()
	c, found := f.n[key]
	if !found {
		c = &atomic.Int32{}
		f.n[key] = c
	}
	f.mu.Unlock()
	if c.Add(1) > f.limit {
		c.Add(-1)
		return nil, false
	}
	return func() { c.Add(-1) }, true
}
