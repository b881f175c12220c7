package windows

import (
	"errors"
	"runtime"
	"sync"
	"syscall"
	"testing"
)

// threadCompartments fakes per-thread compartments (keyed by Linux thread id), with a
// switch back that can be made to fail.
type threadCompartments struct {
	mu       sync.Mutex
	comp     map[int]uint32
	failBack bool
}

func (f *threadCompartments) calls() threadCompartment {
	return threadCompartment{
		Get: func() uint32 {
			f.mu.Lock()
			defer f.mu.Unlock()
			if c, ok := f.comp[syscall.Gettid()]; ok {
				return c
			}
			return 1 // the host's compartment
		},
		Set: func(id uint32) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.failBack && id == 1 {
				return errors.New("error 87")
			}
			f.comp[syscall.Gettid()] = id
			return nil
		},
	}
}

// TestInCompartment: fn runs in the compartment; when switching back fails, the
// caller's own thread is still in the host's compartment (the failed thread is left
// locked to a goroutine that ends, so the runtime discards it).
func TestInCompartment(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	caller := syscall.Gettid()
	for _, failBack := range []bool{false, true} {
		f := &threadCompartments{comp: map[int]uint32{}, failBack: failBack}
		tc := f.calls()
		var inside uint32
		err := inCompartment(tc, 5, func() error { inside = tc.Get(); return nil })
		if inside != 5 {
			t.Errorf("failBack=%v: fn ran in compartment %d, want 5", failBack, inside)
		}
		if (err != nil) != failBack {
			t.Errorf("failBack=%v: got error %v", failBack, err)
		}
		if c := tc.Get(); c != 1 || syscall.Gettid() != caller {
			t.Errorf("failBack=%v: the caller's thread is in compartment %d, want 1", failBack, c)
		}
	}
}
