package serve

import (
	"testing"
	"time"
)

// TestLimiter: a bucket gives twice its rate at once, then one request per
// 1/rate, and says how long to wait; keys are apart; rate 0 limits nothing.
func TestLimiter(t *testing.T) {
	clock := time.Unix(0, 0)
	l := newLimiter(5)
	l.now = func() time.Time { return clock }
	for i := range 10 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.allow("a")
	if ok || wait != 200*time.Millisecond || retryAfterOf(wait) != "1" {
		t.Fatalf("past the burst: %v, wait %s", ok, wait)
	}
	if ok, _ := l.allow("b"); !ok {
		t.Fatal("another key is held back")
	}
	clock = clock.Add(200 * time.Millisecond)
	if ok, _ := l.allow("a"); !ok {
		t.Fatal("refilled: refused")
	}
	if ok, _ := newLimiter(0).allow("a"); !ok {
		t.Fatal("rate 0 refused")
	}
	f := newInFlight(1)
	done, ok := f.enter("a")
	if _, again := f.enter("a"); !ok || again {
		t.Fatalf("in flight: %v %v", ok, again)
	}
	done()
	if _, ok := f.enter("a"); !ok {
		t.Fatal("after done: refused")
	}
}
