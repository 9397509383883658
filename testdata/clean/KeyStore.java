package io.acme.crypto;

import java.security.KeyPairGenerator;
import java.security.PrivateKey;

public final class KeyStore {
    // A PrivateKey object, not key material.
    private PrivateKey privateKey;

    public void generate() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("Ed25519");
        PrivateKey fresh = generator.generateKeyPair().getPrivate();
        this.privateKey = fresh;
        String compat = requests.compat.urljoin("a", "b");
        String secret = System.getenv("STATSIG_SERVER_SECRET");
        String jaas = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" + key + "\" password=\"" + secret + "\";";
    }
}
