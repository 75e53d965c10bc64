package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// child is a server process the benchmark started (and stops, by PID).
type child struct {
	cmd  *exec.Cmd
	url  string
	log  *os.File
	took time.Duration // from exec to the first successful readiness probe
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// start runs bin with args (the placeholder ADDR is replaced by a free
// loopback address) and waits until GET readyPath answers 200.
func start(bin string, env []string, logPath, readyPath string, args ...string) (*child, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "ADDR", addr)
	}
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = lf, lf
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	c := &child{cmd: cmd, url: "http://" + addr, log: lf}
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		res, err := client.Get(c.url + readyPath)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				c.took = time.Since(begin)
				return c, nil
			}
		}
	}
	c.stop()
	return nil, fmt.Errorf("%s did not become ready; see %s", bin, logPath)
}

func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
	c.log.Close()
}

// procFile is the path of one of the child's files under /proc.
func (c *child) procFile(name string) string {
	return fmt.Sprintf("/proc/%d/%s", c.cmd.Process.Pid, name)
}

// memory reads the child's resident set size and its peak (VmHWM), in MiB.
func (c *child) memory() (rss, peak float64) {
	f, err := os.Open(c.procFile("status"))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(fields[1], 64)
		switch fields[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return rss, peak
}

// cpu returns the CPU time (user and system, all threads) the child has
// used so far, from /proc/<pid>/stat, whose clock ticks are 1/100 s on
// Linux (USER_HZ); 0 if it cannot be read.
func (c *child) cpu() time.Duration {
	if c == nil {
		return 0
	}
	b, err := os.ReadFile(c.procFile("stat"))
	if err != nil {
		return 0
	}
	return statCPU(b)
}

// statCPU reads utime and stime (fields 14 and 15, in 1/100 s) from the
// contents of a /proc/<pid>/stat file; 0 if they are not there.
func statCPU(b []byte) time.Duration {
	// The command name, in brackets, may hold spaces and brackets: count
	// the fields after its last bracket, the first of which is field 3.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	user, err1 := strconv.ParseInt(f[11], 10, 64)
	sys, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || user < 0 || sys < 0 {
		return 0
	}
	return time.Duration(user+sys) * 10 * time.Millisecond
}

// selfCPU returns the CPU time the benchmark process (the load generator)
// has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeak restarts the child's VmHWM from its current RSS.
func (c *child) resetPeak() error {
	return os.WriteFile(c.procFile("clear_refs"), []byte("5"), 0)
}

func run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}
