package dev.credledger.dss;

import eu.europa.esig.dss.enumerations.DigestAlgorithm;
import eu.europa.esig.dss.enumerations.JWSSerializationType;
import eu.europa.esig.dss.enumerations.SignatureLevel;
import eu.europa.esig.dss.enumerations.SignaturePackaging;
import eu.europa.esig.dss.jades.JAdESSignatureParameters;
import eu.europa.esig.dss.jades.signature.JAdESService;
import eu.europa.esig.dss.model.DSSDocument;
import eu.europa.esig.dss.model.InMemoryDocument;
import eu.europa.esig.dss.model.SignatureValue;
import eu.europa.esig.dss.model.ToBeSigned;
import eu.europa.esig.dss.model.x509.CertificateToken;
import eu.europa.esig.dss.spi.DSSUtils;
import eu.europa.esig.dss.spi.validation.CommonCertificateVerifier;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

/**
 * EU DSS sealing the same credentials as credledger, for the benchmark: JAdES baseline B, JWS
 * JSON serialization, unencoded payload, one JVM, warmed up first.
 *
 * <p>Usage: {@code SealBench KEY.p8.der CERT.der OUT.jsonld PAYLOAD...}; prints
 * {@code {"count": n, "seconds": s}} for the timed pass and writes the first seal to OUT.
 */
public final class SealBench {

    private SealBench() {
    }

    public static void main(String[] args) throws IOException, GeneralSecurityException {
        byte[] keyDer = Files.readAllBytes(Path.of(args[0]));
        CertificateToken certificate = DSSUtils.loadCertificate(Files.readAllBytes(Path.of(args[1])));
        String keyAlgorithm = certificate.getPublicKey().getAlgorithm();
        PrivateKey key = KeyFactory.getInstance(keyAlgorithm.equals("EC") ? "EC" : "RSA")
                .generatePrivate(new PKCS8EncodedKeySpec(keyDer));
        String javaAlgorithm = keyAlgorithm.equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
        List<byte[]> payloads = new ArrayList<>();
        for (int i = 3; i < args.length; i++) {
            payloads.add(Files.readAllBytes(Path.of(args[i])));
        }
        JAdESService service = new JAdESService(new CommonCertificateVerifier());
        int warmup = Math.min(payloads.size(), 200);
        for (int i = 0; i < warmup; i++) {
            seal(service, certificate, key, javaAlgorithm, payloads.get(i));
        }
        long started = System.nanoTime();
        DSSDocument first = null;
        for (byte[] payload : payloads) {
            DSSDocument sealed = seal(service, certificate, key, javaAlgorithm, payload);
            if (first == null) {
                first = sealed;
            }
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        try (ByteArrayOutputStream out = new ByteArrayOutputStream()) {
            first.writeTo(out);
            Files.write(Path.of(args[2]), out.toByteArray());
        }
        System.out.println("{\"count\": " + payloads.size() + ", \"seconds\": " + seconds + "}");
    }

    private static DSSDocument seal(
            JAdESService service, CertificateToken certificate, PrivateKey key,
            String javaAlgorithm, byte[] payload) throws GeneralSecurityException {
        JAdESSignatureParameters parameters = new JAdESSignatureParameters();
        parameters.setSignatureLevel(SignatureLevel.JAdES_BASELINE_B);
        parameters.setSignaturePackaging(SignaturePackaging.ENVELOPING);
        parameters.setJwsSerializationType(JWSSerializationType.JSON_SERIALIZATION);
        parameters.setBase64UrlEncodedPayload(false);
        parameters.setDigestAlgorithm(DigestAlgorithm.SHA256);
        // x5t#S256, as credledger writes it (DSS's default is x5t#o with SHA-512).
        parameters.setSigningCertificateDigestMethod(DigestAlgorithm.SHA256);
        parameters.setSigningCertificate(certificate);
        parameters.bLevel().setSigningDate(new Date());
        DSSDocument document = new InMemoryDocument(payload, "credential.json");
        ToBeSigned toBeSigned = service.getDataToSign(document, parameters);
        Signature signer = Signature.getInstance(javaAlgorithm);
        signer.initSign(key);
        signer.update(toBeSigned.getBytes());
        SignatureValue value = new SignatureValue(parameters.getSignatureAlgorithm(), signer.sign());
        return service.signDocument(document, parameters, value);
    }
}
