package io.ballast.replication.tls;

import java.security.cert.X509Certificate;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;

/**
 * What a certificate of the cluster may do, written into it by the CA as its OU: a {@link #NODE}
 * (a storage node: speaks Raft in its own name, and is served only once the catalog admitted it)
 * or an {@link #OPERATOR} (the CLI, the controller: may admit and revoke nodes). A certificate
 * without one, issued before roles existed, counts as a node's: it grants nothing by itself.
 */
public enum CertificateRole {
    NODE, OPERATOR;

    /** The OU value this role is written as. */
    public String unit() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The role a holder gets unless told otherwise: the CLI and the controller operate, everyone else is a node. */
    public static CertificateRole defaultFor(String holder) {
        return holder.equals("cli") || holder.equals("controller") ? OPERATOR : NODE;
    }

    /** The role written in {@code cert}; {@link #NODE} when it names none. */
    public static CertificateRole of(X509Certificate cert) {
        return written(cert) == OPERATOR ? OPERATOR : NODE;
    }

    /** Whose certificate it is: its CN (a node id, "cli", "controller"), or "" when it has none. */
    public static String holder(X509Certificate cert) {
        var cn = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded()).getRDNs(BCStyle.CN);
        return cn.length == 0 ? "" : cn[0].getFirst().getValue().toString();
    }

    /** The role written in {@code cert}, or null when it has no OU we know (an older certificate). */
    public static CertificateRole written(X509Certificate cert) {
        var ou = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded()).getRDNs(BCStyle.OU);
        if (ou.length == 0) {
            return null;
        }
        String v = ou[0].getFirst().getValue().toString();
        for (CertificateRole r : values()) {
            if (r.unit().equals(v)) {
                return r;
            }
        }
        return null;
    }
}
