package runtime

import "testing"

// A daemon reload changes the default runtime while containers are being
// created: SetDefault and Get must not race (run with -race), and an
// unusable name is refused without changing the default.
func TestSetDefaultConcurrentWithGet(t *testing.T) {
	s := &Set{Default: "a", Runtimes: map[string]*Runtime{
		"a": {Name: "a", Usable: true}, "b": {Name: "b", Usable: true}, "bad": {Name: "bad"},
	}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 1000; i++ {
			if _, err := s.Get(""); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 1000; i++ {
		name := []string{"a", "b"}[i%2]
		if err := s.SetDefault(name); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	if err := s.SetDefault("bad"); err == nil {
		t.Fatal("an unusable runtime became the default")
	}
	if err := s.SetDefault("nope"); err == nil {
		t.Fatal("an unknown runtime became the default")
	}
	if got := s.DefaultName(); got != "b" {
		t.Fatalf("default after refused changes = %q, want b", got)
	}
}
