// « Découvrir »: the territories in transition that publish their agenda
// on this relay (its `/territoires.json`, written by sync-core's
// `flux::territoires_json`), with their kind, départements, entry doors and
// upcoming rendez-vous, narrowed by an entry door or a département (in
// the address, `#/decouvrir/departement/<code>`, so the map's départements
// are links). The map of départements (`carte.tsx`) says how many
// territories each has. The list is kept on the device and the map by the
// service worker, so both open offline after one visit, the list saying
// from when it dates. A demonstration territory opens in the app,
// read-only; another territory's public page is the relay's `/t/<id>/`.
//
// Does not: decide which territories are public (the relay lists only
// those), or join one (an invitation link does).

import { useEffect, useState } from "preact/hooks";
import type { Driver } from "../driver";
import type { Theme, TypeTerritoire } from "../genere/agenda";
import { Icone } from "../icones";
import { CarteDepartements, useCarte } from "../carte";
import { cleJour, jourEnLettres, libelles } from "../modele";
import { PastilleTheme } from "../themes";

/** One entry of `/territoires.json`, as far as this screen reads it. */
interface TerritoirePublic {
  id: string;
  nom: string;
  type: TypeTerritoire;
  departements: { code: string; nom: string }[];
  portes_entree: Theme[];
  rendez_vous_30_jours: number;
  demonstration: boolean;
}

interface Annuaire {
  /** When it was received (ms since the epoch). */
  recu: number;
  territoires: TerritoirePublic[];
}

const CLE = "essaim-annuaire";

function garde(): Annuaire | undefined {
  try {
    const texte = localStorage.getItem(CLE);
    return texte ? (JSON.parse(texte) as Annuaire) : undefined;
  } catch {
    return undefined;
  }
}

/** The relay's directory, kept for offline; the kept one if the network fails. */
async function charger(): Promise<{ annuaire?: Annuaire; horsLigne: boolean }> {
  try {
    // Asked of the relay each time (not the browser's cache): offline, the
    // kept list says from when it dates.
    const reponse = await fetch("/territoires.json", { cache: "no-cache" });
    if (!reponse.ok) throw new Error(String(reponse.status));
    const json = (await reponse.json()) as { territoires?: TerritoirePublic[] };
    const annuaire = { recu: Date.now(), territoires: Array.isArray(json.territoires) ? json.territoires : [] };
    try {
      localStorage.setItem(CLE, JSON.stringify(annuaire));
    } catch {
      // Private browsing or a full storage: shown, not kept.
    }
    return { annuaire, horsLigne: false };
  } catch {
    return { annuaire: garde(), horsLigne: true };
  }
}

const pluriel = (n: number, un: string, plusieurs: string) => `${n}\u00a0${n <= 1 ? un : plusieurs}`;

/** The address of the list narrowed to a département (all of them for ""). */
const filtreDepartement = (code: string) => (code ? `#/decouvrir/departement/${encodeURIComponent(code)}` : "#/decouvrir");

export function Decouvrir({ driver, departement = "" }: { driver: Driver; departement?: string }) {
  const [etat, setEtat] = useState<{ annuaire?: Annuaire; horsLigne: boolean }>();
  const [theme, setTheme] = useState("");
  const carte = useCarte();
  useEffect(() => {
    document.title = "Découvrir – Essaim";
    charger().then(setEtat);
  }, []);
  const l = libelles();

  const ouvrir = async (t: TerritoirePublic) => {
    await driver.consulter(t.id, t.nom);
    location.hash = `#/territoire/${t.id}`;
  };

  if (etat === undefined) return <p role="status">Chargement des territoires…</p>;
  const tous = etat.annuaire?.territoires ?? [];
  const departements = [...new Map(tous.flatMap((t) => t.departements ?? []).map((d) => [d.code, d])).values()].sort(
    (a, b) => a.code.localeCompare(b.code),
  );
  const comptes = new Map<string, number>();
  for (const t of tous) for (const d of t.departements ?? []) comptes.set(d.code, (comptes.get(d.code) ?? 0) + 1);
  // A département chosen on the map may have no territory: still a choice.
  const choisi = carte?.departements.find((d) => d.code === departement);
  if (choisi && !departements.some((d) => d.code === departement)) departements.push(choisi);
  const liste = tous.filter(
    (t) =>
      (!theme || (t.portes_entree ?? []).includes(theme as Theme)) &&
      (!departement || (t.departements ?? []).some((d) => d.code === departement)),
  );

  return (
    <>
      <h1>Découvrir</h1>
      <p>Les territoires en transition qui publient leur agenda sur ce relais.</p>
      {etat.horsLigne && (
        <p class="note" role="status" data-testid="annuaire-hors-ligne">
          {etat.annuaire
            ? `Hors ligne\u00a0: la liste du ${jourEnLettres(cleJour(new Date(etat.annuaire.recu)))}.`
            : "Hors ligne\u00a0: la liste s'affichera après une première visite en ligne."}
        </p>
      )}
      {tous.length > 0 && (
        <div class="barre-agenda">
          <p class="champ">
            <label for="decouvrir-theme">Porte d'entrée</label>
            <select id="decouvrir-theme" value={theme} onChange={(e) => setTheme(e.currentTarget.value)}>
              <option value="">Toutes</option>
              {Object.entries(l.theme).map(([v, libelle]) => (
                <option key={v} value={v}>
                  {libelle}
                </option>
              ))}
            </select>
          </p>
          <p class="champ">
            <label for="decouvrir-departement">Département</label>
            <select
              id="decouvrir-departement"
              value={departement}
              onChange={(e) => location.replace(filtreDepartement(e.currentTarget.value))}
            >
              <option value="">Tous</option>
              {departements.map((d) => (
                <option key={d.code} value={d.code}>
                  {d.nom} ({d.code})
                </option>
              ))}
            </select>
          </p>
        </div>
      )}
      {carte && (
        <CarteDepartements
          carte={carte}
          comptes={comptes}
          lien={filtreDepartement}
          choisi={departement || undefined}
        />
      )}
      <h2 aria-live="polite">{pluriel(liste.length, "territoire", "territoires")}</h2>
      <ul class="cartes" data-testid="annuaire">
        {liste.map((t) => (
          <li key={t.id} class="carte carte-territoire" data-testid="territoire-public">
            <h3>{t.nom}</h3>
            <p class="aide">
              {l.type_territoire[t.type] ?? ""}
              {(t.departements ?? []).map((d) => ` · ${d.nom} (${d.code})`).join("")}
            </p>
            {t.demonstration && <p class="note">Territoire de démonstration, au contenu inventé</p>}
            {(t.portes_entree ?? []).length > 0 && (
              <p class="rdv-themes">
                {t.portes_entree.map((p) => (
                  <PastilleTheme key={p} theme={p} />
                ))}
              </p>
            )}
            <p>{pluriel(t.rendez_vous_30_jours ?? 0, "rendez-vous", "rendez-vous")} dans les 30 prochains jours</p>
            {t.demonstration ? (
              <button type="button" class="secondaire" onClick={() => ouvrir(t)}>
                <Icone nom="agenda" /> Ouvrir son agenda
              </button>
            ) : (
              <a class="bouton secondaire" href={`/t/${encodeURIComponent(t.id)}/`}>
                <Icone nom="agenda" /> Voir sa page publique
              </a>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}
