package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"ticketflow/internal/store/storetest"
)

// sse reads a Server-Sent Events stream in the background.
type sse struct {
	events chan [2]string // name, data
}

func openSSE(t *testing.T, url, token string) *sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("stream %s: %v %v", url, res, err)
	}
	s := &sse{events: make(chan [2]string, 256)}
	go func() {
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var name string
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				name = v
			} else if v, ok := strings.CutPrefix(line, "data: "); ok {
				s.events <- [2]string{name, v}
			}
		}
		close(s.events)
	}()
	return s
}

// await returns the data of the next event named name.
func (s *sse) await(t *testing.T, name string) map[string]any {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatalf("stream ended before %s", name)
			}
			if ev[0] == name {
				var m map[string]any
				_ = json.Unmarshal([]byte(ev[1]), &m)
				return m
			}
		case <-timeout:
			t.Fatalf("no %s event", name)
		}
	}
}

func postJSON(t *testing.T, url, token string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// TestScaleOutRealtime runs two instances on one PostgreSQL database: a
// reply posted through one reaches a stream on the other, and an agent
// connected to one is online for a user of the other.
func TestScaleOutRealtime(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresSchemaURL(t)
	a := startServer(t, envFunc("DATABASE_URL", url), "--data-dir", t.TempDir())
	b := startServer(t, envFunc("DATABASE_URL", url), "--data-dir", t.TempDir())
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"ticketflow", "create-admin", "--email", "boss@example.com", "--username", "boss", "--password-stdin"},
		envFunc("DATABASE_URL", url), strings.NewReader("Correct-Horse-9\n"), &out, &errOut); err != nil {
		t.Fatalf("create-admin: %v %s", err, errOut.String())
	}
	post(t, a.url+"/api/auth/register", map[string]string{"email": "u@example.com", "username": "user1", "password": "Nouveau123!@#", "password2": "Nouveau123!@#"})
	_, m := post(t, b.url+"/api/auth/login", map[string]string{"username": "user1", "password": "Nouveau123!@#"})
	user := m["access"].(string)
	_, m = post(t, a.url+"/api/auth/login", map[string]string{"username": "boss", "password": "Correct-Horse-9"})
	admin := m["access"].(string)

	code, tk := postJSON(t, b.url+"/api/tickets", user, map[string]string{"title": "VPN", "description": "down", "category": "Technical"})
	if code != 201 {
		t.Fatalf("create: %d %v", code, tk)
	}
	id := strconv.Itoa(int(tk["id"].(float64)))
	onB := openSSE(t, b.url+"/api/tickets/"+id+"/events", user)
	onB.await(t, "presence")
	if code, _ := postJSON(t, a.url+"/api/tickets/"+id+"/comments", admin, map[string]string{"body": "Fixed on our side"}); code != 201 {
		t.Fatalf("reply on a: %d", code)
	}
	if ev := onB.await(t, "comment.created"); ev["comment"].(map[string]any)["body"] != "Fixed on our side" {
		t.Fatalf("event on b: %v", ev)
	}

	// Presence across instances: the agent's stream is on a, the user on b.
	agent := openSSE(t, a.url+"/api/events", admin)
	agent.await(t, "presence")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, m := get(t, b.url+"/api/chat", user); m["agents_online"] == 1.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the agent on a never came online for b")
		}
	}
	code, m = postJSON(t, b.url+"/api/chat/messages", user, map[string]string{"body": "are you there?"})
	if code != 201 || m["offline"] != false {
		t.Fatalf("chat on b: %d %v", code, m)
	}
	if ev := agent.await(t, "chat.message"); ev["message"].(map[string]any)["body"] != "are you there?" {
		t.Fatalf("agent on a got %v", ev)
	}
}
