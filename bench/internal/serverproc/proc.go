package serverproc

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
)

// Proc is a child process that can be killed and started again, its output
// appended to one log file across its lives.
type Proc struct {
	Name string
	Args []string
	Env  []string
	Log  string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Start starts the process (again).
func (p *Proc) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.Args[0], p.Args[1:]...)
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the run
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %v", p.Name, err)
	}
	go func() { _ = cmd.Wait(); f.Close() }()
	p.cmd = cmd
	return nil
}

// Kill sends sig and waits (at most 45 s) for the process to end.
func (p *Proc) Kill(sig syscall.Signal) {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
}

// FreePort is a port below the ephemeral range whose next 13 ports are
// free too (a Temporal server uses them).
func FreePort() (int, error) {
	for base := 21000 + os.Getpid()%5000; base < 32000; base += 17 {
		free := true
		for _, off := range []int{0, 1, 2, 3, 10, 11, 12, 13} {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+off))
			if err != nil {
				free = false
				break
			}
			l.Close()
		}
		if free {
			return base, nil
		}
	}
	return 0, fmt.Errorf("no free port range below 32000")
}

// Dial dials the server until it answers, for at most timeout.
func Dial(ctx context.Context, addr string, timeout time.Duration) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		c, err := client.DialContext(ctx, client.Options{HostPort: addr, Logger: Quiet()})
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the Temporal server at %s did not come up: %v", addr, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// BuildWorker builds the production worker (no embedded server) into dir.
func BuildWorker(dir string) (string, error) {
	out := filepath.Join(dir, "worker")
	cmd := exec.Command("go", "build", "-tags", "nodev", "-o", out, "./worker")
	cmd.Dir = moduleRoot()
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building the worker: %v", err)
	}
	return out, nil
}

func moduleRoot() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || len(out) < 2 {
		return "."
	}
	return filepath.Dir(string(out[:len(out)-1]))
}
