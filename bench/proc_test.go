package main

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestStatCPU(t *testing.T) {
	for _, c := range []struct {
		name, stat string
		want       time.Duration
	}{
		{"plain", "4243 (ticketflow) S 1 4243 4243 0 -1 4194560 2000 0 0 0 1234 56 0 0 20 0 9 0 181923 3133440 356",
			(1234 + 56) * 10 * time.Millisecond},
		// A command may name itself with spaces and brackets: only the
		// last bracket ends it.
		{"brackets in the name", "77 (a) b (c)) R 1 77 77 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 5 1 1",
			10 * 10 * time.Millisecond},
		{"no name", "77 R 1 77 77 0 -1 0 0 0 0 0 7 3", 0},
		{"cut short", "77 (x) R 1 77 77 0 -1 0 0 0 0 0 7", 0},
		{"not numbers", "77 (x) R 1 77 77 0 -1 0 0 0 0 0 seven 3 0", 0},
		{"negative", "77 (x) R 1 77 77 0 -1 0 0 0 0 0 -7 3 0", 0},
	} {
		if got := statCPU([]byte(c.stat)); got != c.want {
			t.Errorf("%s: statCPU = %v, want %v", c.name, got, c.want)
		}
	}
}

// A child that spins shows its CPU time, which grows; no child reads 0.
func TestChildCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system:", err)
	}
	spin := exec.Command("sh", "-c", "i=0; while :; do i=$((i+1)); done")
	if err := spin.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = spin.Process.Kill(); _ = spin.Wait() }()
	c := &child{cmd: spin}
	var first, used time.Duration
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		used = c.cpu()
		if first == 0 {
			first = used
		}
		if first > 0 && used > first {
			break
		}
	}
	if first <= 0 || used <= first {
		t.Fatalf("a spinning shell's CPU time read %v, then %v: want it above zero and growing", first, used)
	}
	var none *child
	if got := none.cpu(); got != 0 {
		t.Errorf("no child: cpu = %v, want 0", got)
	}
	if selfCPU() <= 0 {
		t.Error("selfCPU read no CPU time for this process")
	}
}
