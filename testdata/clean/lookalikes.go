package lookalikes

// Identifiers, versions and ids that share a prefix or an alphabet with credentials but hold none.

import (
	"crypto/tls"
	"fmt"
	"os"
	"time"
)

const (
	fwVersionMajorMinorPatch = "fw_version_major_minor_patch"
	awsSdkModule             = "aws-sdk-go-v2"
	defaultPrice             = 1000.50
	macAddress               = "00:1A:AA:BB:CC:DD"
	buildTime                = "2026-03-02T10:11:12Z"
	commitID                 = "9fceb02d0ae598e95dc970b74767f19372d61af8"
	requestID                = "8f14e45f-ceea-467f-a0e6-7f3c1a2b9d01"
	relayNpub                = "npub1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
	recipient                = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
	sqlIndex                 = "CREATE INDEX pk_users_id ON users(id);"
	dockerLogin              = `docker login -u="acme+ci" -p="$QUAY_TOKEN" quay.io`
	kubeadmJoin              = "kubeadm join 10.0.0.10:6443 --token <token> --discovery-token-ca-cert-hash sha256:<hash>"
	swarmJoin                = "docker swarm join --token SWMTKN-1-<token> 10.0.0.5:2377"
	telegramTime             = "957517813:00"
	telegramDocs             = "https://api.telegram.org/bot<token>/getUpdates"
	zapierDocs               = "https://hooks.zapier.com/hooks/catch/<id>/<hook>/"
	iftttDocs                = "https://maker.ifttt.com/trigger/{event}/with/key/{your_key}"
	chatDocs                 = "https://chat.googleapis.com/v1/spaces/SPACE_ID/messages?key=KEY&token=TOKEN"
	functionDocs             = "https://acme.azurewebsites.net/api/ingest?code=<function-key>"
)

type user struct{ name, parser string }

func load() (*tls.Config, error) {
	u := user{name: os.Getenv("USER")}
	fmt.Println(u.name, u.parser, time.Now())
	token := os.Getenv("TS_AUTHKEY")
	secretKey := os.Getenv("SCW_SECRET_KEY")
	linodeToken := os.Getenv("LINODE_TOKEN")
	hcloudToken := os.Getenv("HCLOUD_TOKEN")
	_ = []string{token, secretKey, linodeToken, hcloudToken}
	return &tls.Config{MinVersion: tls.VersionTLS12}, nil
}
