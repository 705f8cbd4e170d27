// Command smtpsink is a loopback SMTP server for trying the recovery flows
// by hand: point a server's SMTP sender at it and it prints, for every
// message that carries a code, one line "code <recipient> <code>" on
// standard output. It accepts mail from anyone who can reach it and prints
// secrets, so it refuses to listen on anything but a loopback address.
//
//	go run ./examples/smtpsink/cmd/smtpsink -addr 127.0.0.1:2525
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/recoverykit/recoverykit/examples/smtpsink"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:2525", "loopback host:port to listen on")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "smtpsink:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	if err := requireLoopback(addr); err != nil {
		return err
	}
	sink, err := smtpsink.Start(addr)
	if err != nil {
		return err
	}
	defer sink.Close()
	sink.OnCode(func(to, code string) { fmt.Printf("code %s %s\n", to, code) })
	fmt.Fprintf(os.Stderr, "smtpsink: listening on %s; codes print on stdout\n", sink.Addr())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	return nil
}

// requireLoopback refuses addresses other machines could reach: the sink
// prints every code it receives.
func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: want host:port, such as 127.0.0.1:2525", addr)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return errors.New("-addr must be a loopback address (127.0.0.1, ::1 or localhost): the sink prints every code it receives")
	}
	return nil
}
