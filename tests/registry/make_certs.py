"""Makes a private PKI for the TLS tests, with the `cryptography` package (independent of the
function's code): a root CA, a server certificate for 127.0.0.1 and localhost signed by it, and a
client certificate signed by it whose PKCS#8 key is encrypted with a password (PBES2, as
`openssl pkcs8 -topk8 -v2 aes-256-cbc` writes it) or not.

Usage: python make_certs.py DIR PASSWORD
  -> DIR/ca.pem, server.pem, server-key.pem, client.pem (chain: client, CA), client-key.pem
     (encrypted with PASSWORD, or plain when PASSWORD is "-"); prints nothing.
"""

import datetime
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def name(common):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def certificate(subject, key, issuer, issuer_key, ca=False, usage=None, san=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False), critical=True)
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def main():
    out, password = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate(name("claim-check test CA"), ca_key, name("claim-check test CA"), ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = certificate(name("127.0.0.1"), server_key, ca.subject, ca_key, usage=ExtendedKeyUsageOID.SERVER_AUTH,
                         san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")])
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = certificate(name("claim-check function"), client_key, ca.subject, ca_key,
                         usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    plain = serialization.NoEncryption()
    encryption = plain if password == "-" else serialization.BestAvailableEncryption(password.encode())
    files = {
        "ca.pem": pem(ca),
        "server.pem": pem(server),
        "server-key.pem": server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, plain),
        "client.pem": pem(client) + pem(ca),
        "client-key.pem": client_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   encryption),
    }
    for file, data in files.items():
        with open(os.path.join(out, file), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
