// Creating an action: a rendez-vous (one-off or with a rhythm) or a
// long-running chantier, with its themes and place. Its nature (one-off,
// recurring, chantier) is sync-core's to infer from the rhythm.

import { useState } from "preact/hooks";
import type { Driver } from "../driver";
import { appliquer, Cases, Champ, Refuse, useRefus } from "../formulaire";
import type { Action, Theme } from "../genere/agenda";
import { idAleatoire, libelles } from "../modele";
import { champsVides, EditeurRythme, erreursRythme, rythmeDesChamps } from "../rythme-editeur";

export function NouvelleAction({ driver, doc }: { driver: Driver; doc: string }) {
  const [titre, setTitre] = useState("");
  const [lieu, setLieu] = useState("");
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
    if (lieu.trim()) valeur.lieu = { libelle: lieu.trim(), adresse: "", code_insee: null, lat: null, lon: null, acces: "" };
    if (!chantier) valeur.rythme = rythmeDesChamps(rythme);
    if (tenter(() => appliquer(driver, doc, { type: "creer", collection: "actions", id: idAleatoire(), valeur }))) {
      location.hash = `#/territoire/${doc}`;
    }
  };

  return (
    <form onSubmit={enregistrer} noValidate>
      <h1>Nouvelle action</h1>
      <Refuse refus={refus} prefixe="Action refusée" />
      <Champ id="titre" label="Titre" erreur={refus.erreurs.titre}>
        <input value={titre} onInput={(e) => (setTitre(e.currentTarget.value), effacer("titre"))} />
      </Champ>
      <Champ id="lieu" label="Lieu">
        <input value={lieu} onInput={(e) => setLieu(e.currentTarget.value)} />
      </Champ>
      <Cases id="themes" legende="Thèmes" valeurs={themes} choix={libelles().theme} onChoix={setThemes} />
      <p>
        <input id="chantier" type="checkbox" checked={chantier} onChange={(e) => setChantier(e.currentTarget.checked)} />{" "}
        <label for="chantier">Chantier au long cours, sans date de rendez-vous</label>
      </p>
      <p>
        <input id="publier" type="checkbox" checked={publier} onChange={(e) => setPublier(e.currentTarget.checked)} />{" "}
        <label for="publier">Publier dans l'agenda public du territoire (calendriers, site)</label>
      </p>
      {!chantier && (
        <EditeurRythme
          champs={rythme}
          erreurs={refus.erreurs}
          onChange={(champs, modifie) => (setRythme(champs), effacer(modifie))}
        />
      )}
      <button type="submit">Enregistrer l'action</button> <a href={`#/territoire/${doc}`}>Annuler</a>
    </form>
  );
}
