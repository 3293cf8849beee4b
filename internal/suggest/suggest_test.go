package suggest

import "testing"

func TestClosest(t *testing.T) {
	names := []string{"symbols", "schema", "stype_in"}
	for in, want := range map[string]string{"symbol": "symbols", "Schema": "schema", "stypein": "stype_in", "dataset": ""} {
		if got := Closest(in, names); got != want {
			t.Errorf("Closest(%q) = %q, want %q", in, got, want)
		}
	}
	if d := Distance("kitten", "sitting"); d != 3 {
		t.Errorf("Distance = %d, want 3", d)
	}
	if d := Distance("é", "e"); d != 1 {
		t.Errorf("Distance counts runes: got %d", d)
	}
}
