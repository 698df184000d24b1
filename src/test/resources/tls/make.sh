#!/bin/sh
# Test-only certificates for the TLS tests: a CA, the broker (CN and SAN localhost, no IP SAN, so
# 127.0.0.1 fails hostname verification) and a device, all PKCS12 with password "changeit".
# Valid for 100 years so the committed files do not expire under the tests. Never trust this CA.
# Re-create with: sh make.sh   (needs the JDK's keytool)
set -eu
cd "$(dirname "$0")"
rm -f ./*.p12 ./*.crt ./*.csr
pw=changeit
days=36500
kt() { keytool -storetype PKCS12 -storepass "$pw" "$@"; }
kt -genkeypair -alias ca -keyalg EC -groupname secp256r1 -dname CN=plateau-test-ca -ext bc:c -validity $days -keystore ca.p12
kt -exportcert -rfc -alias ca -keystore ca.p12 -file ca.crt
kt -importcert -noprompt -alias ca -file ca.crt -keystore truststore.p12
for who in broker:localhost:san=dns:localhost device:device-1:
do
  name=${who%%:*}; rest=${who#*:}; cn=${rest%%:*}; ext=${rest#*:}
  kt -genkeypair -alias "$name" -keyalg EC -groupname secp256r1 -dname "CN=$cn" -validity $days -keystore "$name.p12"
  kt -certreq -alias "$name" -keystore "$name.p12" -file "$name.csr"
  kt -gencert -rfc -alias ca -keystore ca.p12 -infile "$name.csr" -outfile "$name.crt" -validity $days ${ext:+-ext "$ext"}
  kt -importcert -noprompt -alias ca -file ca.crt -keystore "$name.p12"
  kt -importcert -noprompt -alias "$name" -file "$name.crt" -keystore "$name.p12"
done
rm -f ./*.csr ca.p12 broker.crt device.crt
printf '%s\n' "$pw" > password
