// The origin the visitor used, as the reverse proxy in front (nginx) forwards it.
export function publicOrigin(headers) {
  const proto = (headers.get("x-forwarded-proto") || "https").split(",")[0].trim();
  const host = headers.get("x-forwarded-host") || headers.get("host") || "localhost";
  return `${proto}://${host.split(",")[0].trim()}`;
}
