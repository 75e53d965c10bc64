package main

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// us renders a CPU time per request ("–" if not measured).
func us(d time.Duration) string {
	if d <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

// render formats the results as Markdown, each engine side by side.
func render(o options, ceiling, after result, reps []*report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %d tickets, %d concurrent clients, %s per scenario\n\n", o.tickets, o.concurrency, o.duration)
	end := "not measured"
	if after.Rate > 0 {
		end = fmt.Sprintf("%.0f req/s", after.Rate)
	}
	fmt.Fprintf(&b, "Machine: %d CPUs (load generator on the same machine; it reads every response to its end without keeping it). Ceiling: bare net/http hello = **%.0f req/s** (p50 %s, p99 %s); "+
		"percentages are of this figure. The same hello at the end of the run: %s (the machine's drift during the run). "+
		"Each scenario is also given as a percentage of the same hello measured for %s just before it (\"%% of local\"). "+
		"CPU per request: the CPU time (user and system, all threads) of the server under test, and of the load generator, divided by the requests answered; "+
		"the hello server used %s per request and the load generator %s, the local hello's figures are in brackets.\n\n",
		runtime.NumCPU(), ceiling.Rate, ms(ceiling.P50), ms(ceiling.P99), end, localCeiling(o.duration), us(ceiling.ServerCPU), us(ceiling.ClientCPU))
	for _, r := range reps {
		if r.SizedCeiling.Rate == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s: the admin list page is %d bytes; hello answering with a body that size = **%.0f req/s** (p99 %s), %.0f%% of hello.",
			r.Engine, r.ListBytes, r.SizedCeiling.Rate, ms(r.SizedCeiling.P99), 100*r.SizedCeiling.Rate/ceiling.Rate)
		for _, x := range r.Results {
			if x.Name == listScenario {
				fmt.Fprintf(&b, " The admin list reaches %.0f%% of it.", 100*x.Rate/r.SizedCeiling.Rate)
			}
		}
		b.WriteString("\n\n")
	}
	b.WriteString("| scenario |")
	for _, r := range reps {
		fmt.Fprintf(&b, " %s req/s | %% of hello | %% of local | p50 | p95 | p99 | server CPU/req | load generator CPU/req | errors |", r.Engine)
	}
	b.WriteString("\n|---|")
	for range reps {
		b.WriteString("---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	}
	b.WriteString("\n")
	for i := range reps[0].Results {
		fmt.Fprintf(&b, "| %s |", reps[0].Results[i].Name)
		for _, r := range reps {
			x := r.Results[i]
			local := "–"
			if x.Local > 0 {
				local = fmt.Sprintf("%.0f%% of %.0f", 100*x.Rate/x.Local, x.Local)
			}
			srv := us(x.ServerCPU)
			if x.LocalCPU > 0 {
				srv += " (" + us(x.LocalCPU) + ")"
			}
			fmt.Fprintf(&b, " %.0f | %.0f%% | %s | %s | %s | %s | %s | %s | %d |", x.Rate, 100*x.Rate/ceiling.Rate, local, ms(x.P50), ms(x.P95), ms(x.P99),
				srv, us(x.ClientCPU), x.Errors)
		}
		b.WriteString("\n")
	}
	for _, r := range reps {
		if r.IndexAtStart != "" {
			fmt.Fprintf(&b, "\n%s, before the first scenario: %s.\n", r.Engine, r.IndexAtStart)
		}
		for _, x := range r.Results {
			if x.Note != "" {
				fmt.Fprintf(&b, "\n%s, %s: %s.\n", r.Engine, x.Name, x.Note)
			}
		}
	}
	b.WriteString("\n| memory and start-up |")
	for _, r := range reps {
		fmt.Fprintf(&b, " %s |", r.Engine)
	}
	b.WriteString("\n|---|")
	for range reps {
		b.WriteString("---:|")
	}
	rows := []struct {
		name string
		f    func(*report) string
	}{
		{"start-up to ready (/readyz 200)", func(r *report) string { return ms(r.Startup) }},
		{"idle RSS after start", func(r *report) string { return fmt.Sprintf("%.1f MiB", r.IdleRSS) }},
		{"database read into the page cache before each scenario (first time)", func(r *report) string {
			if r.WarmErr != "" {
				return "**failed**: " + r.WarmErr + " (the runs read whatever the page cache held)"
			}
			return fmt.Sprintf("%.0f MiB in %s", float64(r.Warmed)/(1<<20), ms(r.WarmTook))
		}},
		{"RSS after the load runs", func(r *report) string { return fmt.Sprintf("%.1f MiB", r.AfterLoadRSS) }},
		{"peak RSS, 10 concurrent 10 MB uploads", func(r *report) string {
			if r.UploadPeakRSS == 0 {
				return "not measured (-only)"
			}
			return fmt.Sprintf("%.1f MiB (from %.1f)", r.UploadPeakRSS, r.UploadBaseline)
		}},
	}
	for _, row := range rows {
		fmt.Fprintf(&b, "\n| %s |", row.name)
		for _, r := range reps {
			fmt.Fprintf(&b, " %s |", row.f(r))
		}
	}
	b.WriteString("\n")
	return b.String()
}
