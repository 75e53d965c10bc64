package store

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"
)

// TestPostgresSessionSettings checks the planner settings TicketFlow puts
// on its PostgreSQL sessions, and that a URL's own values win.
func TestPostgresSessionSettings(t *testing.T) {
	t.Parallel()
	u := os.Getenv("TICKETFLOW_TEST_POSTGRES")
	if u == "" {
		u = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" // storetest.DefaultPostgresURL
	}
	for _, tt := range []struct {
		extra, cost, plan string
	}{
		{"", "1.1", "force_custom_plan"},
		{"random_page_cost=2&plan_cache_mode=auto", "2", "auto"},
	} {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		q := pu.Query()
		extra, _ := url.ParseQuery(tt.extra)
		for k, v := range extra {
			q[k] = v
		}
		pu.RawQuery = q.Encode()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		db, err := Open(ctx, Config{DatabaseURL: pu.String()})
		if err != nil {
			cancel()
			if os.Getenv("CI") != "" {
				t.Fatalf("PostgreSQL is required in CI: %v", err)
			}
			t.Skipf("PostgreSQL unreachable: %v", err)
		}
		var cost, plan string
		err = db.r.QueryRowContext(ctx, `SELECT current_setting('random_page_cost'), current_setting('plan_cache_mode')`).Scan(&cost, &plan)
		db.Close()
		cancel()
		if err != nil || cost != tt.cost || plan != tt.plan {
			t.Errorf("URL extra %q: random_page_cost %q, plan_cache_mode %q, %v; want %s, %s", tt.extra, cost, plan, err, tt.cost, tt.plan)
		}
	}
}
