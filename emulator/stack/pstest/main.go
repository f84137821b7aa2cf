// Command pstest-server serves Google's in-memory Pub/Sub fake (pstest) on a loopback address: the stack's
// fallback when the Google Cloud CLI's Pub/Sub emulator is not installed. pstest has no push delivery, so the
// stack's relay pulls from it and delivers the way Eventarc does.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"cloud.google.com/go/pubsub/v2/pstest"
)

func main() {
	host := flag.String("host", "127.0.0.1", "address to bind")
	port := flag.Int("port", 8085, "port to bind")
	flag.Parse()

	srv := pstest.NewServerWithAddress(fmt.Sprintf("%s:%d", *host, *port))
	// The same line the official emulator prints, so one readiness check serves both.
	log.Printf("Server started, listening on %d (%s)", *port, srv.Addr)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	if err := srv.Close(); err != nil {
		log.Printf("close: %v", err)
	}
}
