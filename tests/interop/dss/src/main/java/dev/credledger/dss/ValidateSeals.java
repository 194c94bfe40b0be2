package dev.credledger.dss;

import eu.europa.esig.dss.model.FileDocument;
import eu.europa.esig.dss.model.x509.CertificateToken;
import eu.europa.esig.dss.simplereport.SimpleReport;
import eu.europa.esig.dss.spi.DSSUtils;
import eu.europa.esig.dss.spi.validation.CommonCertificateVerifier;
import eu.europa.esig.dss.spi.x509.CommonTrustedCertificateSource;
import eu.europa.esig.dss.validation.SignedDocumentValidator;
import eu.europa.esig.dss.validation.reports.Reports;

import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Validates sealed files with EU DSS, offline, trusting only the CA given first.
 *
 * <p>Usage: {@code ValidateSeals CA.pem FILE...}. One line per file on standard output:
 * {@code file<TAB>indication<TAB>sub-indication<TAB>signature format}. No online source is
 * configured (no AIA, OCSP or CRL fetching): the verdict rests on the files and the CA alone.
 */
public final class ValidateSeals {

    private ValidateSeals() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: ValidateSeals CA.pem FILE...");
            System.exit(2);
        }
        CertificateToken anchor;
        try (InputStream in = new FileInputStream(args[0])) {
            anchor = DSSUtils.loadCertificate(in);
        }
        CommonTrustedCertificateSource trusted = new CommonTrustedCertificateSource();
        trusted.addCertificate(anchor);
        CommonCertificateVerifier verifier = new CommonCertificateVerifier();
        verifier.setTrustedCertSources(trusted);
        verifier.setAIASource(null);
        verifier.setOcspSource(null);
        verifier.setCrlSource(null);
        for (int i = 1; i < args.length; i++) {
            SignedDocumentValidator validator =
                    SignedDocumentValidator.fromDocument(new FileDocument(new File(args[i])));
            validator.setCertificateVerifier(verifier);
            Reports reports = validator.validateDocument();
            SimpleReport simple = reports.getSimpleReport();
            String id = simple.getFirstSignatureId();
            System.out.println(String.join("\t",
                    args[i],
                    String.valueOf(simple.getIndication(id)),
                    String.valueOf(simple.getSubIndication(id)),
                    String.valueOf(simple.getSignatureFormat(id))));
        }
    }
}
