package breach

import "time"

// Window is the time the controller has to notify the supervisory
// authority after becoming aware of a breach: "where feasible, not later
// than 72 hours" (GDPR Art. 33(1)). The hours are elapsed hours: they are
// not moved off weekends or public holidays.
const Window = 72 * time.Hour

// Deadline is when the authority must have been notified.
func Deadline(awareAt time.Time) time.Time { return awareAt.Add(Window) }

// Late reports whether a notification at notifiedAt came after the
// 72 hours; one at exactly the deadline is in time.
func Late(awareAt, notifiedAt time.Time) bool { return notifiedAt.After(Deadline(awareAt)) }

// Countdown is the time left to the authority deadline.
type Countdown struct {
	Left    time.Duration // negative once the deadline passed
	Overdue bool          // the deadline passed
	Hours   int           // of |Left|, whole hours
	Minutes int           // of |Left|, the minutes beyond Hours
}

// CountdownAt is the countdown at now for a breach known since awareAt. At
// exactly the deadline nothing is left, but it is not overdue yet.
func CountdownAt(awareAt, now time.Time) Countdown {
	left := Deadline(awareAt).Sub(now)
	c := Countdown{Left: left, Overdue: left < 0}
	abs := left
	if abs < 0 {
		abs = -abs
	}
	c.Hours, c.Minutes = int(abs/time.Hour), int(abs%time.Hour/time.Minute)
	return c
}

// States of the notification of the authority.
const (
	StatePending        = "pending"          // not notified, deadline not passed
	StateOverdue        = "overdue"          // not notified, deadline passed
	StateNotifiedInTime = "notified_in_time" // within 72 hours
	StateNotifiedLate   = "notified_late"    // after 72 hours, with the reason
	StateNotNotified    = "not_notified"     // decided: no risk (Art. 33(1))
)

// State says where the notification of the authority stands at now.
func State(b *Breach, now time.Time) string {
	switch {
	case b.AuthorityNotifiedAt != nil && Late(b.AwareAt, *b.AuthorityNotifiedAt):
		return StateNotifiedLate
	case b.AuthorityNotifiedAt != nil:
		return StateNotifiedInTime
	case b.NoNotifyAt != nil:
		return StateNotNotified
	case CountdownAt(b.AwareAt, now).Overdue:
		return StateOverdue
	}
	return StatePending
}
