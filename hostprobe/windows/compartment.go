package windows

import (
	"errors"
	"fmt"
	"runtime"
)

// threadCompartment are the calls that read and switch the calling OS thread's network
// compartment (iphlpapi GetCurrentThreadCompartmentId / SetCurrentThreadCompartmentId on
// Windows).
type threadCompartment struct {
	Get func() uint32
	Set func(id uint32) error
}

// inCompartment runs fn on an OS thread switched to compartment id and returns fn's
// error. It runs on a goroutine of its own that locks its thread: when switching back
// fails, the goroutine ends with its thread still locked, so the runtime terminates the
// thread instead of running other goroutines in the wrong compartment; the caller's
// own thread is never switched.
func inCompartment(tc threadCompartment, id uint32, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		old := tc.Get()
		if err := tc.Set(id); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("switching to compartment %d: %w", id, err)
			return
		}
		err := fn()
		if berr := tc.Set(old); berr != nil {
			// Stay locked: the thread dies with this goroutine.
			errc <- errors.Join(err, fmt.Errorf("switching back to compartment %d: %w (the thread is discarded)", old, berr))
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}
