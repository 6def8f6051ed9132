// Creating an action: a rendez-vous (one-off or with a rhythm) or a
// long-running chantier, with its themes and place, in a form of a few
// sections with one main button. Its nature (one-off, recurring, chantier)
// is sync-core's to infer from the rhythm. Once saved, the agenda opens at
// its top.

import { useState } from "preact/hooks";
import type { Driver } from "../driver";
import { allerA, appliquer, Cases, ChampTexte, Refuse, useRefus } from "../formulaire";
import type { Action, Theme } from "../genere/agenda";
import { idAleatoire, libelles } from "../modele";
import { champsVides, EditeurRythme, erreursRythme, rythmeDesChamps } from "../rythme-editeur";

export function NouvelleAction({ driver, doc }: { driver: Driver; doc: string }) {
  const [titre, setTitre] = useState("");
  const [lieu, setLieu] = useState("");
  const [adresse, setAdresse] = useState("");
  const [themes, setThemes] = useState<Theme[]>([]);
  const [chantier, setChantier] = useState(false);
  const [publier, setPublier] = useState(true);
  const [rythme, setRythme] = useState(champsVides);
  const { refus, tenter, verifier, effacer } = useRefus();

  const enregistrer = (event: Event) => {
    event.preventDefault();
    const erreurs: Record<string, string> = chantier ? {} : erreursRythme(rythme);
    if (!titre.trim()) erreurs.titre = "Le titre est obligatoire.";
    if (!verifier(erreurs)) return;
    const valeur: Partial<Action> = {
      titre: titre.trim(),
      portes_entree: themes,
      publication: publier ? "publie" : "brouillon",
    };
    if (lieu.trim() || adresse.trim())
      valeur.lieu = { libelle: lieu.trim(), adresse: adresse.trim(), code_insee: null, lat: null, lon: null, acces: "" };
    if (!chantier) valeur.rythme = rythmeDesChamps(rythme);
    if (tenter(() => appliquer(driver, doc, { type: "creer", collection: "actions", id: idAleatoire(), valeur }))) {
      allerA(`#/territoire/${doc}`);
    }
  };

  return (
    <form onSubmit={enregistrer} noValidate class="formulaire">
      <h1>Nouvelle action</h1>
      <Refuse refus={refus} prefixe="Action refusée" />
      <section class="carte" aria-labelledby="na-essentiel">
        <h2 id="na-essentiel">L'essentiel</h2>
        <ChampTexte id="titre" label="Titre" erreur={refus.erreurs.titre} valeur={titre} onTexte={(t) => (setTitre(t), effacer("titre"))} />
        <Cases id="themes" legende="Thèmes" valeurs={themes} choix={libelles().theme} onChoix={setThemes} />
      </section>
      <section class="carte" aria-labelledby="na-quand">
        <h2 id="na-quand">Quand</h2>
        <p class="case">
          <input id="chantier" type="checkbox" checked={chantier} onChange={(e) => setChantier(e.currentTarget.checked)} />
          <label for="chantier">Chantier au long cours, sans date de rendez-vous</label>
        </p>
        {!chantier && (
          <EditeurRythme
            champs={rythme}
            erreurs={refus.erreurs}
            onChange={(champs, modifie) => (setRythme(champs), effacer(modifie))}
          />
        )}
      </section>
      <section class="carte" aria-labelledby="na-ou">
        <h2 id="na-ou">Où</h2>
        <ChampTexte id="lieu" label="Lieu" aide={"Par exemple\u00a0: salle des fêtes"} valeur={lieu} onTexte={setLieu} />
        <ChampTexte
          id="adresse"
          label="Adresse (facultatif)"
          aide="Pour le lien vers une carte."
          autoComplete="street-address"
          valeur={adresse}
          onTexte={setAdresse}
        />
      </section>
      <section class="carte" aria-labelledby="na-diffusion">
        <h2 id="na-diffusion">Diffusion</h2>
        <p class="case">
          <input id="publier" type="checkbox" checked={publier} onChange={(e) => setPublier(e.currentTarget.checked)} />
          <label for="publier">Publier dans l'agenda public du territoire (calendriers, site)</label>
        </p>
      </section>
      <p class="actions">
        <button type="submit">Enregistrer l'action</button>
        <a href={`#/territoire/${doc}`} class="bouton discret">
          Annuler
        </a>
      </p>
    </form>
  );
}
