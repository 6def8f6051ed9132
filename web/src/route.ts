// The app's route: the parts of the URL's hash (`#/territoire/<doc>/…`),
// percent-decoded. One reading for the entry (main.tsx), the start
// (demarrage.tsx) and the shell (app.tsx). A link whose hash does not
// decode (a stray `%`) is the home route, never an exception.

export function lireRoute(): string[] {
  try {
    return location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    return [];
  }
}
