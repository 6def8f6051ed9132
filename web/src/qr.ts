// A QR code of a text, as the one SVG path of its dark modules, for the
// "Inviter" screen (a link shown in a meeting room). The encoder
// (`qrcode-generator`, MIT, no dependency) is imported lazily: it is a
// chunk of its own, out of the app's first download (the service worker
// still precaches it, so a QR code shows offline too).
//
// Does not: draw anything (the screen renders the SVG: no inline style,
// so the strict CSP holds), or choose what to encode.

/** A square of `taille` modules (quiet zone included) and the path of its dark ones. */
export interface CodeQr {
  taille: number;
  chemin: string;
}

/** Modules of quiet zone around the code (the standard asks for 4). */
const MARGE = 4;

/** The QR code of `texte`, error correction M (a screen photographed from a distance). */
export async function codeQr(texte: string): Promise<CodeQr> {
  const { default: qrcode } = await import("qrcode-generator");
  const qr = qrcode(0, "M");
  qr.addData(texte, "Byte");
  qr.make();
  const n = qr.getModuleCount();
  const morceaux: string[] = [];
  for (let ligne = 0; ligne < n; ligne++) {
    for (let colonne = 0; colonne < n; colonne++) {
      if (qr.isDark(ligne, colonne)) morceaux.push(`M${colonne + MARGE} ${ligne + MARGE}h1v1h-1z`);
    }
  }
  return { taille: n + 2 * MARGE, chemin: morceaux.join("") };
}
