// « Votre nom »: how this device's person is named to the other
// organisers (in the history and in concurrent edits), asked once and kept
// on the device; the driver writes it into each territory at the next
// edit there (sync-core's `Edit::DefinirNom`).
//
// Does not: name residents (they write nothing) or check the name (the
// core does, at the edit).

import { useState } from "preact/hooks";
import type { Driver } from "../driver";
import { annoncer, Champ } from "../formulaire";

export function MonNom({ driver, question = false }: { driver: Driver; question?: boolean }) {
  const [nom, setNom] = useState(driver.monNom() ?? "");
  const [erreur, setErreur] = useState<string>();
  const [garde, setGarde] = useState(false);
  const enregistrer = (event: Event) => {
    event.preventDefault();
    const propre = nom.trim();
    if (!propre || propre.length > 80) return setErreur("Un nom de 1 à 80 caractères.");
    setErreur(undefined);
    driver.definirMonNom(propre);
    setGarde(true);
    // Asked on a screen, the question goes once answered: say it was kept.
    if (question) annoncer(`Merci, ${propre}\u00a0: votre nom est enregistré sur cet appareil.`);
  };
  return (
    <section class="carte" aria-labelledby="titre-mon-nom" data-testid="mon-nom">
      <h2 id="titre-mon-nom">{question ? "Comment vous appelez-vous\u00a0?" : "Votre nom"}</h2>
      <p class="aide">Montré aux autres organisateurs, pour qu'ils sachent qui a modifié quoi.</p>
      <form onSubmit={enregistrer} noValidate>
        <Champ id="mon-nom-champ" label="Votre nom ou prénom" erreur={erreur}>
          <input value={nom} autoComplete="name" onInput={(e) => (setNom(e.currentTarget.value), setGarde(false))} />
        </Champ>
        <button type="submit">Enregistrer mon nom</button>
        {garde && (
          <span role="status" class="aide">
            {" "}
            Enregistré.
          </span>
        )}
      </form>
    </section>
  );
}
