// A territory's agenda: upcoming rendez-vous (today, this week, this
// month) with recurring occurrences expanded by sync-core, then the
// long-running chantiers, optionally narrowed to one theme. A theme filter
// lives in the URL (`#/territoire/<doc>/theme/<theme>`), so it survives a
// visit to an action and can be shared.

import { useEffect } from "preact/hooks";
import type { Driver } from "../driver";
import { Champ, Choix } from "../formulaire";
import { EtatOccurrence } from "./occurrence";
import type { RendezVous, Theme } from "../genere/agenda";
import { aLeTheme, debutDuJour, libelles, pluriel, quand } from "../modele";

const JOUR = 86_400_000;

export function Territoire({ driver, doc, theme }: { driver: Driver; doc: string; theme?: string }) {
  const agenda = driver.agenda(doc);
  const nom = agenda?.profil?.nom;
  useEffect(() => {
    if (nom) driver.storage.retenir({ doc, nom });
  }, [driver, doc, nom]);
  useEffect(() => {
    document.title = nom ? `${nom} · Essaim` : "Essaim";
  }, [nom]);

  if (!agenda || !driver.hasDocument(doc)) {
    return driver.isUnavailable(doc) ? (
      <p role="alert">Ce territoire est introuvable&nbsp;: le lien est peut-être erroné, ou le territoire n'existe plus.</p>
    ) : (
      <p>Chargement du territoire…</p>
    );
  }
  const themes = libelles().theme;
  const filtre = theme && theme in themes ? (theme as Theme) : undefined;
  const retenue = (id: string, collection = "actions") =>
    !filtre || aLeTheme(collection, agenda.actions[id]?.portes_entree ?? [], filtre);
  const debutJour = debutDuJour();
  const rendezVous = driver.rendezVous(doc, debutJour, debutJour + 31 * JOUR).filter((r) =>
    retenue(r.id, r.collection),
  );
  const debut = (r: RendezVous) => Date.parse(r.occurrence.debut_utc);
  const groupes: [string, RendezVous[]][] = [
    ["Aujourd'hui", rendezVous.filter((r) => debut(r) < debutJour + JOUR)],
    ["Cette semaine", rendezVous.filter((r) => debut(r) >= debutJour + JOUR && debut(r) < debutJour + 7 * JOUR)],
    ["Ce mois-ci", rendezVous.filter((r) => debut(r) >= debutJour + 7 * JOUR)],
  ];
  const chantiers = Object.entries(agenda.actions).filter(([id, a]) => !a.rythme && !a.supprime && retenue(id));
  const filtrer = (valeur: string) => {
    location.hash = valeur ? `#/territoire/${doc}/theme/${valeur}` : `#/territoire/${doc}`;
  };
  return (
    <>
      <h1>{nom ?? "Territoire sans nom"}</h1>
      <p class="actions-ecran">
        {driver.peutModifier(doc) ? (
          <a class="bouton" href={`#/territoire/${doc}/nouvelle-action`}>
            Nouvelle action
          </a>
        ) : (
          <span data-testid="lecture-seule">
            {agenda.profil?.demonstration
              ? "Territoire de démonstration, aux personnes et rendez-vous inventés\u00a0: en lecture seule."
              : "Vous consultez ce territoire avec un lien d'habitant\u00a0: en lecture seule."}
          </span>
        )}{" "}
        <a href={`#/territoire/${doc}/profil`}>Profil et feuille de route</a>
        {driver.peutModifier(doc) && (
          <>
            {" "}
            <a href={`#/territoire/${doc}/inviter`}>Inviter</a>
          </>
        )}
      </p>
      {agenda.conflits.length > 0 && (
        <p role="note">
          {pluriel(agenda.conflits.length, "modification")} simultanée{agenda.conflits.length > 1 ? "s" : ""} à
          départager&nbsp;: ouvrez la fiche concernée.
        </p>
      )}
      <Champ id="filtre-theme" label="Thème">
        <Choix valeur={filtre ?? ""} choix={{ "": "Tous les thèmes", ...themes }} onChoix={filtrer} />
      </Champ>
      <h2>Rendez-vous{filtre && ` · ${themes[filtre]}`}</h2>
      {groupes.map(([titre, liste], i) => (
        <section key={titre} aria-labelledby={`groupe-${i}`}>
          <h3 id={`groupe-${i}`}>{titre}</h3>
          {liste.length === 0 ? (
            <p>Aucun rendez-vous.</p>
          ) : (
            <ul class="liste">
              {liste.map((r) => (
                <li key={`${r.id}-${r.occurrence.origine}`}>
                  <a href={`#/territoire/${doc}/action/${r.id}`}>{r.titre}</a> <span>{quand(r.occurrence.debut)}</span>
                  <EtatOccurrence occurrence={r.occurrence} />
                </li>
              ))}
            </ul>
          )}
        </section>
      ))}
      <h2>Chantiers{filtre && ` · ${themes[filtre]}`}</h2>
      {chantiers.length === 0 ? (
        <p>Aucun chantier en cours.</p>
      ) : (
        <ul class="liste">
          {chantiers.map(([id, a]) => (
            <li key={id}>
              <a href={`#/territoire/${doc}/action/${id}`}>{a.titre}</a>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
