package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// PoolStat is the state of a database connection pool at one moment.
type PoolStat struct {
	Acquired, Idle, Constructing, Max int32
	// Acquires counts connections taken from the pool; EmptyAcquires those that had to
	// wait because none was idle, CanceledAcquires those given up while waiting.
	Acquires, EmptyAcquires, CanceledAcquires int64
	// AcquireWait is the total time spent taking connections.
	AcquireWait time.Duration
}

// WatchPostgresPool reports the PostgreSQL connection pool's state, read from stat at
// each scrape.
func (m *Metrics) WatchPostgresPool(stat func() PoolStat) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&poolCollector{stat: stat})
}

var (
	poolConnections = prometheus.NewDesc("custd_postgres_pool_connections",
		"PostgreSQL connections of the pool, by state: acquired (in use), idle, constructing.", []string{"state"}, nil)
	poolMax = prometheus.NewDesc("custd_postgres_pool_max_connections",
		"The most connections the pool opens.", nil, nil)
	poolAcquires = prometheus.NewDesc("custd_postgres_pool_acquires_total",
		"Connections taken from the pool.", nil, nil)
	poolEmptyAcquires = prometheus.NewDesc("custd_postgres_pool_empty_acquires_total",
		"Connections taken from the pool that had to wait because none was idle.", nil, nil)
	poolCanceledAcquires = prometheus.NewDesc("custd_postgres_pool_canceled_acquires_total",
		"Waits for a connection given up because the request ended first.", nil, nil)
	poolAcquireWait = prometheus.NewDesc("custd_postgres_pool_acquire_wait_seconds_total",
		"Time spent taking connections from the pool.", nil, nil)
)

// poolCollector reads the pool's statistics when scraped: the pool counts them already.
type poolCollector struct{ stat func() PoolStat }

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolConnections, poolMax, poolAcquires, poolEmptyAcquires, poolCanceledAcquires, poolAcquireWait} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stat()
	ch <- prometheus.MustNewConstMetric(poolConnections, prometheus.GaugeValue, float64(s.Acquired), "acquired")
	ch <- prometheus.MustNewConstMetric(poolConnections, prometheus.GaugeValue, float64(s.Idle), "idle")
	ch <- prometheus.MustNewConstMetric(poolConnections, prometheus.GaugeValue, float64(s.Constructing), "constructing")
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.Max))
	ch <- prometheus.MustNewConstMetric(poolAcquires, prometheus.CounterValue, float64(s.Acquires))
	ch <- prometheus.MustNewConstMetric(poolEmptyAcquires, prometheus.CounterValue, float64(s.EmptyAcquires))
	ch <- prometheus.MustNewConstMetric(poolCanceledAcquires, prometheus.CounterValue, float64(s.CanceledAcquires))
	ch <- prometheus.MustNewConstMetric(poolAcquireWait, prometheus.CounterValue, s.AcquireWait.Seconds())
}
