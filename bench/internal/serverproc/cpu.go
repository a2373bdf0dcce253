package serverproc

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is Linux's USER_HZ, the unit of /proc/<pid>/stat's times.
const clockTick = 10 * time.Millisecond

// CPU is the user and system time the process has used in its current
// life (zero when it is not running).
func (p *Proc) CPU() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return PidCPU(p.cmd.Process.Pid)
}

// PidCPU is the user and system time process pid has used.
func PidCPU(pid int) time.Duration {
	st, _ := procStat(pid)
	return st.self
}

// cpu is what PostgreSQL's processes have used: the postmaster (with its
// ended children) and the backends running now.
func (pg *postgres) cpu() time.Duration {
	raw, err := os.ReadFile(pg.dir + "/postmaster.pid")
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(raw), "\n", 2)[0]))
	if err != nil {
		return 0
	}
	main, ok := procStat(pid)
	if !ok {
		return 0
	}
	total := main.self + main.children
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := procStat(child); ok && st.ppid == pid {
			total += st.self
		}
	}
	return total
}

type stat struct {
	ppid           int
	self, children time.Duration
}

// procStat reads /proc/<pid>/stat: the parent, the process's own CPU time
// (utime + stime) and its waited-for children's (cutime + cstime).
func procStat(pid int) (stat, bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, false
	}
	// the command (field 2) is in parentheses and may hold spaces
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return stat{}, false
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3, the state
	if len(f) < 15 {
		return stat{}, false
	}
	n := func(k int) time.Duration {
		v, _ := strconv.ParseInt(f[k-3], 10, 64)
		return time.Duration(v) * clockTick
	}
	ppid, _ := strconv.Atoi(f[4-3])
	return stat{ppid: ppid, self: n(14) + n(15), children: n(16) + n(17)}, true
}
