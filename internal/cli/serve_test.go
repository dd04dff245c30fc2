package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is written by the server goroutine and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestServe(t *testing.T) {
	var out, errOut lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, &IO{In: strings.NewReader(""), Out: &out, Err: &errOut})
	}()
	re := regexp.MustCompile(`^http://127\.0\.0\.1:\d+\n$`)
	deadline := time.Now().Add(10 * time.Second)
	for !re.MatchString(out.String()) {
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d: %s", code, errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve printed %q, want its URL", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	url := strings.TrimSpace(out.String())
	resp, err := http.Get(url + "/api/catalog/chips")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"h100-sxm"`)) {
		t.Errorf("GET /api/catalog/chips: %d %.200s", resp.StatusCode, b)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after shutdown: %s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop when its context ended")
	}
}

func TestServeRefusesNetworkAddr(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:8080", ":8080", "192.0.2.1:8080", "[::]:8080", "example.com:80"} {
		var out, errOut bytes.Buffer
		code := Main(context.Background(), []string{"serve", "--addr", addr}, &IO{In: strings.NewReader(""), Out: &out, Err: &errOut})
		if code != exitConfig {
			t.Errorf("--addr %s: exit %d, want %d", addr, code, exitConfig)
		}
		if !strings.Contains(errOut.String(), "--public") {
			t.Errorf("--addr %s: %q does not point to --public", addr, errOut.String())
		}
		if out.Len() != 0 {
			t.Errorf("--addr %s: printed %q", addr, out.String())
		}
	}
	var errOut bytes.Buffer
	if code := Main(context.Background(), []string{"serve", "--addr", "nonsense"}, &IO{Out: io.Discard, Err: &errOut}); code != exitConfig {
		t.Errorf("--addr nonsense: exit %d: %s", code, errOut.String())
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.3.2.1": true, "::1": true, "localhost": true,
		"": false, "0.0.0.0": false, "::": false, "10.0.0.1": false, "example.com": false,
	} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
