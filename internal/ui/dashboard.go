package ui

import (
	"fmt"
	"net/http"

	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/retention"
)

// dashboardWeeks is how many ISO weeks the activity chart shows.
const dashboardWeeks = 12

// Geometry of the activity chart (SVG user units).
const (
	chartW, chartH      = 720, 260
	chartLeft, chartTop = 40, 10
	chartBase           = 220 // y of the x axis
)

// dashboardData is what templates/dashboard.html gets.
type dashboardData struct {
	Lights []lightCount
	Total  int64
	Chart  chart
	Recent []*ledger.ConsentEvent
	Names  names // purposes and sources of Recent in the reader's language

	// Breaches are the open data breaches with their countdowns
	// (breaches.go); nil for roles without the register.
	Breaches *breachBox
	Sweeps   []retention.Sweep // the latest retention sweeps
}

type lightCount struct {
	Light ledger.Light
	N     int64
}

// chart is a server-rendered bar chart of granted vs withdrawn per week.
type chart struct {
	W, H, Left, Base, Right int
	LegendY                 int
	Max                     int64
	Ticks                   []chartTick
	Weeks                   []chartWeek
	Label                   string // the chart's accessible summary
}

type chartTick struct {
	Y     int
	Value int64
}

type chartWeek struct {
	ledger.WeekActivity
	Label      string // 2025-W10
	X, LabelX  int
	GX, GY, GH int
	WX, WY, WH int
	BarW       int
	Title      string
}

func buildChart(lang string, weeks []ledger.WeekActivity) chart {
	c := chart{W: chartW, H: chartH, Left: chartLeft, Base: chartBase, Right: chartW - 10, LegendY: chartH - 16}
	for _, w := range weeks {
		c.Max = max(c.Max, w.Granted, w.Withdrawn)
	}
	scaleMax := max(c.Max, 1)
	// Round the scale up to a "nice" number so the ticks are whole.
	for _, step := range []int64{1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000} {
		if scaleMax <= step*4 {
			scaleMax = step * 4
			for i := int64(0); i <= 4; i++ {
				c.Ticks = append(c.Ticks, chartTick{Y: chartBase - int(i*step*(chartBase-chartTop)/scaleMax), Value: i * step})
			}
			break
		}
	}
	if c.Ticks == nil { // very large numbers: two ticks only
		c.Ticks = []chartTick{{Y: chartBase, Value: 0}, {Y: chartTop, Value: scaleMax}}
	}
	slot := (c.Right - c.Left) / max(len(weeks), 1)
	barW := max(slot*2/5, 2)
	height := func(n int64) int { return int(n * (chartBase - chartTop) / scaleMax) }
	var granted, withdrawn int64
	for i, w := range weeks {
		x := c.Left + i*slot
		cw := chartWeek{WeekActivity: w, Label: fmt.Sprintf("%d-W%02d", w.Year, w.Week), X: x, LabelX: x + slot/2, BarW: barW}
		cw.GX, cw.GH = x+slot/10, height(w.Granted)
		cw.GY = chartBase - cw.GH
		cw.WX, cw.WH = cw.GX+barW, height(w.Withdrawn)
		cw.WY = chartBase - cw.WH
		cw.Title = i18n.T(lang, "dashboard.chart.week", cw.Label, w.Granted, w.Withdrawn)
		c.Weeks = append(c.Weeks, cw)
		granted, withdrawn = granted+w.Granted, withdrawn+w.Withdrawn
	}
	c.Label = i18n.T(lang, "dashboard.chart.label", len(weeks), granted, withdrawn)
	return c
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	counts, err := s.ledger.LightCounts(ctx)
	var weeks []ledger.WeekActivity
	if err == nil {
		weeks, err = s.ledger.ConsentActivity(ctx, dashboardWeeks)
	}
	var recent []*ledger.ConsentEvent
	if err == nil {
		recent, err = s.ledger.RecentConsentEvents(ctx, 10)
	}
	if err != nil {
		s.failErr(w, p, err, "dashboard")
		return
	}
	d := dashboardData{Chart: buildChart(p.Lang, weeks), Recent: recent}
	if len(recent) > 0 {
		purposes, err := s.ledger.Purposes(ctx, true)
		if err != nil {
			s.failErr(w, p, err, "dashboard")
			return
		}
		sources, err := s.ledger.Sources(ctx)
		if err != nil {
			s.failErr(w, p, err, "dashboard")
			return
		}
		d.Names = newNames(p.Lang, purposes, sources)
	}
	d.Breaches = s.dashboardBreaches(r, p)
	for _, l := range []ledger.Light{ledger.Green, ledger.Yellow, ledger.Red} {
		d.Lights = append(d.Lights, lightCount{Light: l, N: counts[l]})
		d.Total += counts[l]
	}
	if d.Sweeps, err = s.retention().Sweeps(ctx, 5); err != nil {
		s.failErr(w, p, err, "dashboard")
		return
	}
	p.Title, p.Data = i18n.T(p.Lang, "dashboard.title"), d
	s.render(w, http.StatusOK, "dashboard", p)
}
