package breach_test

import (
	"testing"
	"time"

	"github.com/consento/consento/internal/breach"
)

func TestDeadlineCountdownAndLateness(t *testing.T) {
	aware := time.Date(2026, 11, 20, 16, 30, 0, 0, time.UTC) // a Friday: weekends count
	deadline := time.Date(2026, 11, 23, 16, 30, 0, 0, time.UTC)
	if got := breach.Deadline(aware); !got.Equal(deadline) {
		t.Fatalf("deadline %v, want %v (72 elapsed hours)", got, deadline)
	}
	for _, c := range []struct {
		name           string
		now            time.Time
		overdue, late  bool
		hours, minutes int
	}{
		{"at awareness", aware, false, false, 72, 0},
		{"one minute after awareness", aware.Add(time.Minute), false, false, 71, 59},
		{"71 h 59 min 59 s after", deadline.Add(-time.Second), false, false, 0, 0},
		{"exactly at the deadline", deadline, false, false, 0, 0},
		{"one microsecond late", deadline.Add(time.Microsecond), true, true, 0, 0},
		{"5 h 3 min late", deadline.Add(5*time.Hour + 3*time.Minute), true, true, 5, 3},
		{"four days late", deadline.Add(96 * time.Hour), true, true, 96, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			cd := breach.CountdownAt(aware, c.now)
			if cd.Overdue != c.overdue || cd.Hours != c.hours || cd.Minutes != c.minutes {
				t.Errorf("countdown %+v, want overdue %v, %d h %d min", cd, c.overdue, c.hours, c.minutes)
			}
			if got := breach.Late(aware, c.now); got != c.late {
				t.Errorf("a notification at %v: late = %v, want %v", c.now, got, c.late)
			}
			b := &breach.Breach{AwareAt: aware}
			want := breach.StatePending
			if c.overdue {
				want = breach.StateOverdue
			}
			if got := breach.State(b, c.now); got != want {
				t.Errorf("state %s, want %s", got, want)
			}
			at := c.now
			b.AuthorityNotifiedAt = &at
			want = breach.StateNotifiedInTime
			if c.late {
				want = breach.StateNotifiedLate
			}
			if got := breach.State(b, c.now.Add(1000*time.Hour)); got != want {
				t.Errorf("notified at %v: state %s, want %s", c.now, got, want)
			}
		})
	}
	decided := time.Now()
	if got := breach.State(&breach.Breach{AwareAt: aware, NoNotifyAt: &decided}, deadline.Add(time.Hour)); got != breach.StateNotNotified {
		t.Errorf("decided not to notify: %s", got)
	}
}
