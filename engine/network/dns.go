package network

import (
	"net"
	"sort"
	"time"

	"github.com/miekg/dns"
)

// dnsAddr is where the embedded DNS listens inside each container on a
// user-defined network (Docker's address). The sockets are opened inside
// the container's netns, so 127.0.0.11 is the container's own loopback and
// no DNAT is needed; the server itself runs in berthd and forwards
// unknown names from the host's namespace, so host resolvers on loopback
// (systemd-resolved's 127.0.0.53) work for containers too.
const dnsAddr = "127.0.0.11"

// dnsTTL is the TTL of the embedded DNS's own answers (Docker's).
const dnsTTL = 600

// refreshDNSLocked rebuilds the table from the sandboxes. Caller holds s.mu.
func (s *Service) refreshDNSLocked() {
	t := newDNSTable()
	ids := make([]string, 0, len(s.sandboxes))
	for cid := range s.sandboxes {
		ids = append(ids, cid)
	}
	sort.Strings(ids) // a stable PTR answer when two containers share a name
	for _, cid := range ids {
		sb := s.sandboxes[cid]
		for _, ep := range sb.rec.Endpoints {
			n := s.nets[ep.NetworkID]
			if n == nil || n.rec.Predefined || !ep.IP.IsValid() {
				continue
			}
			t.add(cid, ep.NetworkID, n.rec.Name, ep.DNSNames, ep.Links, ep.IP, ep.IPv6)
		}
	}
	s.dns.Store(t)
	if err := s.syncGatewayDNSLocked(); err != nil {
		s.log.Warn("embedded DNS for sandboxed containers", "err", err)
	}
}

// needsDNS reports whether a sandbox is on a user-defined network.
func (s *Service) needsDNS(sb *sandbox) bool {
	for _, ep := range sb.rec.Endpoints {
		if n := s.nets[ep.NetworkID]; n != nil && n.rec.Driver == "bridge" && !n.rec.Predefined {
			return true
		}
	}
	return false
}

type dnsSockets struct {
	udp net.PacketConn
	tcp net.Listener
}

func (c *dnsSockets) Close() {
	c.udp.Close()
	c.tcp.Close()
}

// listenDNS opens the DNS sockets in the current thread's netns.
func listenDNS() (*dnsSockets, error) {
	u, err := net.ListenPacket("udp4", dnsAddr+":53")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp4", dnsAddr+":53")
	if err != nil {
		u.Close()
		return nil, err
	}
	return &dnsSockets{udp: u, tcp: l}, nil
}

// dnsServer serves one container.
type dnsServer struct {
	udp, tcp *dns.Server
}

func (d *dnsServer) Close() {
	// Shutdown waits for in-flight forwards; nothing waits for it.
	go d.udp.Shutdown()
	go d.tcp.Shutdown()
}

func (s *Service) startDNS(containerID string, c *dnsSockets) *dnsServer {
	return serveDNSOn(c, dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) { s.serveDNS(containerID, w, r) }))
}

// serveDNSOn serves h on c's sockets until Close.
func serveDNSOn(c *dnsSockets, h dns.Handler) *dnsServer {
	d := &dnsServer{udp: &dns.Server{PacketConn: c.udp, Handler: h}, tcp: &dns.Server{Listener: c.tcp, Handler: h}}
	go d.udp.ActivateAndServe()
	go d.tcp.ActivateAndServe()
	return d
}

func (s *Service) serveDNS(containerID string, w dns.ResponseWriter, r *dns.Msg) {
	if len(r.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeFormatError)
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	t := s.dns.Load()
	if q.Qclass == dns.ClassINET {
		if q.Qtype == dns.TypePTR {
			if ptr := t.reverse(containerID, q.Name); ptr != "" {
				m := new(dns.Msg)
				m.SetReply(r)
				m.Authoritative = true
				m.RecursionAvailable = true
				m.Answer = append(m.Answer, &dns.PTR{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: dnsTTL}, Ptr: dns.Fqdn(ptr)})
				w.WriteMsg(m)
				return
			}
		} else if ips, found := t.resolve(containerID, q.Name, q.Qtype == dns.TypeAAAA); found {
			m := new(dns.Msg)
			m.SetReply(r)
			m.Authoritative = true
			m.RecursionAvailable = true
			for _, ip := range ips {
				switch q.Qtype {
				case dns.TypeA:
					m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: dnsTTL}, A: ip.AsSlice()})
				case dns.TypeAAAA:
					m.Answer = append(m.Answer, &dns.AAAA{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: dnsTTL}, AAAA: ip.AsSlice()})
				}
			}
			// Other types, or a family the container has no address of:
			// no data (not NXDOMAIN), as Docker answers.
			w.WriteMsg(m)
			return
		}
	}
	s.forwardDNS(w, r)
}

// forwardDNS asks the host's resolvers, over the protocol the query came on.
func (s *Service) forwardDNS(w dns.ResponseWriter, r *dns.Msg) {
	proto := "udp"
	if _, ok := w.LocalAddr().(*net.TCPAddr); ok {
		proto = "tcp"
	}
	c := &dns.Client{Net: proto, Timeout: 3 * time.Second}
	for _, up := range s.upstreams() {
		resp, _, err := c.Exchange(r, up)
		if err != nil || resp == nil {
			continue
		}
		resp.Id = r.Id
		w.WriteMsg(resp)
		return
	}
	m := new(dns.Msg)
	m.SetRcode(r, dns.RcodeServerFailure)
	w.WriteMsg(m)
}

// hostUpstreams returns the host's resolvers from /etc/resolv.conf, read
// on every forward so edits apply at once; Docker's fallback when none.
func hostUpstreams() []string {
	cfg, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	var out []string
	if err == nil {
		for _, s := range cfg.Servers {
			out = append(out, net.JoinHostPort(s, cfg.Port))
		}
	}
	if len(out) == 0 {
		out = []string{"8.8.8.8:53", "8.8.4.4:53"}
	}
	return out
}
