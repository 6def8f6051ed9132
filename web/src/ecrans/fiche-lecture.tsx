// A published experience sheet for residents and the public
// (`#/t/<id>/fiches/<fiche>` on a device that does not organise the
// territory): the version the relay serves (`/t/<id>/fiches/<fiche>.json`),
// kept on the device for offline reading (the last 50 visited), with its
// licence, contributors, date, and links to its public page and Markdown.
// « S'inspirer de cette fiche »: a device that organises a territory takes
// up the sheet's public actions there as drafts, through the essaimage
// path (`Driver.essaimerPublique`, each action's public JSON).
//
// Does not: decide what is published (the relay) or what a draft takes
// (sync-core).

import { useEffect, useState } from "preact/hooks";
import type { Driver } from "../driver";
import { messageDe, aujourdhui, idAleatoire, libellesFiches, pluriel } from "../modele";
import { PastilleTheme } from "../themes";
import type { TerritoireConnu } from "../storage";
import { ChoixTerritoire, charge } from "./action-reprendre";
import { avecJeton, dateVersion, fichePubliee, type FicheServie, jetonDe, type Lu } from "./fiches-publiques";

export function FicheLecture({ driver, territoire, id }: { driver: Driver; territoire: string; id: string }) {
  const [lu, setLu] = useState<Lu<FicheServie>>();
  const [jeton, setJeton] = useState<string>();
  useEffect(() => {
    jetonDe(driver.storage, territoire).then((j) => {
      setJeton(j);
      return fichePubliee(territoire, id, j).then(setLu);
    });
  }, [driver, territoire, id]);
  useEffect(() => {
    if (lu?.type === "lu") document.title = `${lu.valeur.contenu.titre} – Essaim`;
  }, [lu]);
  const retour = (
    <p>
      <a class="bouton discret retour" href={`#/t/${territoire}/fiches`}>
        Toutes les fiches du territoire
      </a>
    </p>
  );
  if (!lu) return <p role="status">Chargement de la fiche…</p>;
  if (lu.type !== "lu")
    return (
      <>
        {retour}
        <h1>{lu.type === "retire" ? "Fiche retirée" : "Fiche introuvable"}</h1>
        <p role="alert">{lu.message}</p>
      </>
    );
  const f = lu.valeur;
  const c = f.contenu;
  const { sections, adresses_licences } = libellesFiches();
  const t = encodeURIComponent(territoire);
  const page = `/t/${t}/fiches/${encodeURIComponent(id)}/`;
  return (
    <article class="fiche-lecture" data-testid="fiche-lecture">
      {retour}
      <h1>{c.titre}</h1>
      {lu.horsLigne !== undefined && (
        <p class="note" role="status" data-testid="hors-ligne">
          Hors ligne&nbsp;: la fiche telle qu'elle était le {dateVersion(lu.horsLigne)}.
        </p>
      )}
      {c.resume && <p class="description">{c.resume}</p>}
      {c.portes_entree.length > 0 && (
        <p class="pastilles">
          {c.portes_entree.map((p) => (
            <PastilleTheme key={p} theme={p} />
          ))}
        </p>
      )}
      {sections
        .filter(([cle]) => (c[cle as keyof typeof c] as string).trim())
        .map(([cle, titre]) => (
          <section key={cle} class="carte" data-testid={`lecture-${cle}`}>
            <h2>{titre}</h2>
            {(c[cle as keyof typeof c] as string).split(/\n\s*\n/).map((para, i) => (
              <p key={i} class="description">
                {para}
              </p>
            ))}
          </section>
        ))}
      <section class="carte" aria-labelledby="fiche-a-propos">
        <h2 id="fiche-a-propos">À propos de cette fiche</h2>
        <dl class="resume">
          <div>
            <dt>Version</dt>
            <dd data-testid="version-fiche">du {dateVersion(f.version.le)}</dd>
          </div>
          {f.contributeurs.length > 0 && (
            <div>
              <dt>Écrite par</dt>
              <dd>{f.contributeurs.join(", ")}</dd>
            </div>
          )}
          <div>
            <dt>Licence</dt>
            <dd>
              <a href={adresses_licences[c.licence]} rel="license">
                {c.licence}
              </a>
            </dd>
          </div>
          {c.mesures_pacte.length > 0 && (
            <div>
              <dt>Mesures du Pacte</dt>
              <dd>{c.mesures_pacte.join(", ")}</dd>
            </div>
          )}
          {c.acteurs.length > 0 && (
            <div>
              <dt>Acteurs</dt>
              <dd>{c.acteurs.join(", ")}</dd>
            </div>
          )}
        </dl>
        <p>
          <a href={avecJeton(page, jeton)}>Page publique</a> ·{" "}
          <a href={avecJeton(`/t/${t}/fiches/${encodeURIComponent(id)}.md`, jeton)}>Texte en Markdown</a>
        </p>
      </section>
      {c.actions.length > 0 && <Inspirer driver={driver} fiche={f} />}
    </article>
  );
}

/** « S'inspirer de cette fiche »: its public actions as drafts in a territory this device organises. */
function Inspirer({ driver, fiche }: { driver: Driver; fiche: FicheServie }) {
  const [cibles, setCibles] = useState<TerritoireConnu[]>([]);
  const [cible, setCible] = useState("");
  const [enCours, setEnCours] = useState(false);
  const [erreur, setErreur] = useState<string>();
  const [faits, setFaits] = useState<{ cible: string; brouillons: { id: string; titre: string }[] }>();
  useEffect(() => {
    driver.storage.territoires().then((ts) => {
      const miens = ts.filter((t) => !t.demonstration && driver.peutModifier(t.doc) && !fiche.territoires.includes(t.doc));
      setCibles(miens);
      setCible(miens[0]?.doc ?? "");
    });
  }, [driver, fiche]);
  if (cibles.length === 0) return null;
  const inspirer = async (event: Event) => {
    event.preventDefault();
    setEnCours(true);
    setErreur(undefined);
    const brouillons: { id: string; titre: string }[] = [];
    try {
      await charge(driver, cible);
      for (const { territoire, action } of fiche.contenu.actions) {
        const reponse = await fetch(
          `/t/${encodeURIComponent(territoire)}/actions/${encodeURIComponent(action)}.json`,
          { cache: "no-cache" },
        ).catch(() => undefined);
        // An action no longer public is left out.
        if (!reponse?.ok) continue;
        const publique = await reponse.text();
        const nouvel = idAleatoire();
        driver.essaimerPublique(publique, cible, nouvel, aujourdhui());
        brouillons.push({ id: nouvel, titre: (JSON.parse(publique) as { titre: string }).titre });
      }
    } catch (e) {
      setErreur(messageDe(e));
    }
    setEnCours(false);
    setFaits({ cible, brouillons });
  };
  return (
    <section class="carte" aria-labelledby="fiche-inspirer" data-testid="inspirer">
      <h2 id="fiche-inspirer">S'inspirer de cette fiche</h2>
      <p class="aide">
        Ses actions publiques deviennent des brouillons dans votre territoire&nbsp;: le titre, la présentation, les thèmes
        et le rythme, à partir d'aujourd'hui.
      </p>
      <form onSubmit={inspirer} noValidate>
        <ChoixTerritoire id="cible-inspirer" cibles={cibles} cible={cible} onChoix={setCible} />
        <button type="submit" disabled={enCours}>
          S'inspirer de cette fiche
        </button>
      </form>
      {erreur && (
        <p role="alert" class="erreur">
          {erreur}
        </p>
      )}
      {faits && (
        <div role="status" data-testid="brouillons-inspires">
          <p>
            {faits.brouillons.length === 0
              ? "Aucune action de cette fiche n'est publique pour l'instant\u00a0: aucun brouillon créé."
              : `${pluriel(faits.brouillons.length, "brouillon")} ${faits.brouillons.length > 1 ? "créés" : "créé"} dans votre territoire\u00a0:`}
          </p>
          <ul class="liste">
            {faits.brouillons.map((b) => (
              <li key={b.id}>
                <a href={`#/territoire/${faits.cible}/action/${b.id}`}>{b.titre}</a>
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
