// `#/fiches/accepter/<fiche>/<territoire>` (issue 18): the link a
// territory's organiser sends after proposing one of its experience sheets
// to another territory. On a device that organises that territory,
// « Accepter » lists the sheet there, which opens it to its organisers
// (the sheet names the territory once proposed: both consent). Elsewhere,
// the screen says why nothing can be done here.
//
// Does not: check that the sheet was proposed (the relay opens it only if
// it was; nothing else can be read of it before).

import { useEffect, useState } from "preact/hooks";
import type { Driver } from "../driver";
import { allerA } from "../formulaire";
import { messageDe } from "../modele";

export function AccepterFiche({ driver, fiche, territoire }: { driver: Driver; fiche: string; territoire: string }) {
  const [erreur, setErreur] = useState<string>();
  const organise = driver.isValidDocument(territoire) && driver.organise(territoire);
  useEffect(() => {
    if (organise) driver.openDocument(territoire);
  }, [driver, territoire, organise]);
  const titre = <h1>Accepter une fiche d'expérience</h1>;
  if (!driver.isValidDocument(fiche) || !driver.isValidDocument(territoire))
    return (
      <>
        {titre}
        <p role="alert">Ce lien n'est pas valide&nbsp;: vérifiez qu'il a été copié en entier.</p>
      </>
    );
  if (!organise)
    return (
      <>
        {titre}
        <p role="alert" data-testid="accepter-impossible">
          Cet appareil n'organise pas le territoire à qui la fiche est proposée. Ouvrez ce lien sur l'appareil d'un de ses
          organisateurs (celui où vous avez ouvert votre lien d'organisateur).
        </p>
      </>
    );
  if (!driver.hasDocument(territoire))
    return (
      <>
        {titre}
        <p role="status">Chargement du territoire…</p>
      </>
    );
  const nom = driver.agenda(territoire)?.profil?.nom ?? "votre territoire";
  const dejaListee = driver.fiches(territoire).includes(fiche);
  const accepter = () => {
    try {
      driver.accepterFiche(territoire, fiche);
      allerA(`#/t/${territoire}/fiches/${fiche}`);
    } catch (e) {
      setErreur(messageDe(e));
    }
  };
  return (
    <>
      {titre}
      <section class="carte" data-testid="accepter-fiche">
        {dejaListee ? (
          <p>
            Cette fiche est déjà dans «&nbsp;{nom}&nbsp;».{" "}
            <a href={`#/t/${territoire}/fiches/${fiche}`}>Ouvrir la fiche</a>
          </p>
        ) : (
          <>
            <p>
              Un autre territoire propose à «&nbsp;{nom}&nbsp;» d'écrire une de ses fiches d'expérience avec lui. En
              l'acceptant, les organisateurs de «&nbsp;{nom}&nbsp;» pourront la lire et la modifier.
            </p>
            <p class="actions">
              <button type="button" onClick={accepter}>
                Accepter
              </button>
            </p>
          </>
        )}
        {erreur && (
          <p role="alert" class="erreur">
            {erreur}
          </p>
        )}
      </section>
    </>
  );
}
